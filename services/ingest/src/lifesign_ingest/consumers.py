"""Ingest's Kafka handlers: one per input topic family."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign import telemetry, topics
from lifesign.bus import Batch, OutMessage, describe_error
from lifesign.catalogue import get_source
from lifesign.clock import Clock
from lifesign.events import Channel, LifeEvent, Provenance
from lifesign.identity import Pseudonymizer
from lifesign.settings import TIMEZONE
from lifesign_ingest import repository
from lifesign_ingest.service import RecordRejected, normalize_record, parse_feed_record


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
    return topic.split(".")[1]


class FeedHandler:
    """``on_feed_record``: normalise department records into LifeEvents (R-7.3.2).

    The decoder hands over raw bytes so that malformed JSON is rejected here, where the
    per-source counts see it: received = accepted + rejected, per source and day.
    """

    def __init__(self, *, pseudonymizer: Pseudonymizer, clock: Clock) -> None:
        self._pseudonymizer = pseudonymizer
        self._clock = clock

    async def __call__(self, session: AsyncSession, batch: Batch[bytes]) -> None:
        now = self._clock.now()
        accepted: Counter[tuple[str, date]] = Counter()
        rejected: Counter[tuple[str, date]] = Counter()
        events: list[LifeEvent] = []
        for item in batch.items:
            source = get_source(source_of_topic(item.topic))
            received_at = arrival_time(item.timestamp_ms, now)
            counted = (source.code, received_at.date())
            try:
                record = parse_feed_record(item.value)
            except ValueError as error:  # JSON or schema: pydantic's ValidationError
                batch.reject(item, f"{source.code}: {describe_error(error)}")
                rejected[counted] += 1
                continue
            provenance = Provenance(
                channel=Channel.KAFKA,
                source_record_id=record.record_id,
                topic=item.topic,
                partition=item.partition,
                offset=item.offset,
            )
            try:
                event = normalize_record(
                    record,
                    source=source,
                    provenance=provenance,
                    received_at=received_at,
                    pseudonymizer=self._pseudonymizer,
                )
            except RecordRejected as error:
                batch.reject(item, f"{source.code}: {error}")
                rejected[counted] += 1
                continue
            accepted[counted] += 1
            events.append(event)
            # Pure function of the record (deterministic event id): emitted after commit,
            # and a redelivered record yields the same event, which quality drops.
            batch.emit(
                OutMessage.of(
                    topics.EVENTS_NORMALIZED,
                    event,
                    key=event.person.pseudonym,
                    headers=item.trace_headers or telemetry.first_hop_headers(event.event_id),
                )
            )
        await repository.record_lineage(session, events)
        await repository.add_counts(session, accepted, rejected)
