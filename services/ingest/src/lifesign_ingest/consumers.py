"""Ingest's Kafka handlers: one per input topic family."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign import telemetry, topics
from lifesign.bus import Batch, Envelope, OutMessage, describe_error
from lifesign.catalogue import Source, UnknownSource, get_source
from lifesign.clock import Clock
from lifesign.events import Channel
from lifesign.settings import TIMEZONE
from lifesign_ingest import repository
from lifesign_ingest.intake import Intake, Tally
from lifesign_ingest.service import (
    MAX_RECORD_BYTES,
    EventDocument,
    encode_document,
    parse_feed_record,
)

#: How much of a refused oversized message the dead letter keeps (the broker refuses a
#: dead letter as large as the message, and a refused publish would stall the partition).
DEAD_LETTER_KEEP_BYTES = 4096
_KAFKA = Channel.KAFKA.value


def arrival_time(timestamp_ms: int, now: datetime) -> datetime:
    """When a record arrived: the broker message's timestamp (the department published it
    then), never later than our clock (a producer's clock may run fast). A replay of old
    messages, or a simulated province, keeps the times the records were published at."""
    if timestamp_ms <= 0:
        return now
    published = datetime.fromtimestamp(timestamp_ms / 1000, TIMEZONE)
    return min(published, now)


def source_of_topic(topic: str) -> str:
    """``feed.<source>.v1`` -> ``<source>``."""
    parts = topic.split(".")
    return parts[1] if len(parts) == 3 and parts[0] == "feed" else topic


class FeedHandler:
    """``on_feed_record``: normalise department records into LifeEvents (R-7.3.2).

    The decoder hands over raw bytes so that malformed JSON, wrong types, oversized
    messages and topics of unknown sources are rejected here, where the per-source counts
    see them: received = accepted + rejected, per source and day.
    """

    def __init__(self, *, intake: Intake, clock: Clock) -> None:
        self._intake = intake
        self._clock = clock
        #: topic -> (source code, the catalogue's source or None for an unknown one)
        self._sources: dict[str, tuple[str, Source | None]] = {}

    def _source(self, topic: str) -> tuple[str, Source | None]:
        found = self._sources.get(topic)
        if found is None:
            code = source_of_topic(topic)
            try:
                found = (code, get_source(code))
            except UnknownSource:
                found = (code, None)
            self._sources[topic] = found
        return found

    async def __call__(self, session: AsyncSession, batch: Batch[bytes]) -> None:
        now = self._clock.now()
        tally = Tally()
        normalised: list[tuple[Envelope[bytes], EventDocument, str]] = []
        # A producer's batch shares one timestamp: each distinct one is converted once.
        arrivals: dict[int, datetime] = {}
        for item in batch.items:
            received_at = arrivals.get(item.timestamp_ms)
            if received_at is None:
                received_at = arrivals[item.timestamp_ms] = arrival_time(item.timestamp_ms, now)
            code, source = self._source(item.topic)
            try:
                if source is None:
                    raise UnknownSource(code)
                document, name = self._normalise(item, source, received_at)
            except (ValueError, UnknownSource) as error:  # JSON, schema, id, region, source
                batch.reject(_shortened(item), f"{code}: {describe_error(error)}")
                tally.reject(code, received_at)
                continue
            normalised.append((item, document, name))
            tally.accept(code, received_at)
        await self._intake.check_documents(session, [(d, n) for _, d, n in normalised])
        lineage = []
        for item, document, _ in normalised:
            # Pure function of the record (deterministic event id): emitted after commit,
            # and a redelivered record yields the same event, which quality drops.
            event_id, pseudonym = document["event_id"], document["person"]["pseudonym"]
            batch.emit(
                OutMessage(
                    topics.EVENTS_NORMALIZED,
                    encode_document(document),
                    pseudonym,
                    item.trace_headers or telemetry.first_hop_headers(event_id),
                )
            )
            lineage.append(
                {
                    "event_id": event_id,
                    "source": document["source"],
                    "pseudonym": pseudonym,
                    "channel": _KAFKA,
                    "received_at": document["received_at"],
                    "topic": item.topic,
                    "partition": item.partition,
                    "offset": item.offset,
                }
            )
        await repository.insert_lineage(session, lineage)
        await repository.add_counts(session, tally.accepted, tally.rejected)

    def _normalise(
        self, item: Envelope[bytes], source: Source, received_at: datetime
    ) -> tuple[EventDocument, str]:
        record = parse_feed_record(item.value)
        provenance = {
            "channel": _KAFKA,
            "source_record_id": record.record_id,
            "topic": item.topic,
            "partition": item.partition,
            "offset": item.offset,
            "file": None,
            "row": None,
            "job_id": None,
        }
        return self._intake.document(
            record, source=source, provenance=provenance, received_at=received_at
        )


def _shortened(item: Envelope[bytes]) -> Envelope[bytes]:
    if len(item.value) <= MAX_RECORD_BYTES:
        return item
    cut = item.value[:DEAD_LETTER_KEEP_BYTES]
    for trim in range(4):  # end on a whole UTF-8 character, so the copy stays readable text
        try:
            (cut[: len(cut) - trim]).decode()
        except UnicodeDecodeError:
            continue
        cut = cut[: len(cut) - trim]
        break
    return dataclasses.replace(item, value=cut)
