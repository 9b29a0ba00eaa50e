"""Quality's Kafka handlers: ``on_events_normalized`` and ``on_registry_pensioners``."""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign import topics
from lifesign.bus import Batch, Envelope, OutMessage, describe_error
from lifesign.catalogue import CATALOGUE
from lifesign.certification import local_date
from lifesign.clock import Clock
from lifesign.events import LifeEvent, PensionerRecord
from lifesign_quality import repository
from lifesign_quality.schemas import QuarantinedEvent, RuleFailure
from lifesign_quality.service import (
    CONTENT_RULES,
    DUPLICATE_RULES,
    MAX_VALUE_CHARS,
    Context,
    Finding,
    assess,
    death_date_of,
    is_quarantined,
)

Counts = dict[tuple[str, date], Counter[str]]
#: Where the outcomes of a redelivered message go: nowhere (they were counted already).
_NOT_COUNTED: Counter[str] = Counter()
#: Where a message that is not a LifeEvent is counted when it names no catalogue source.
UNKNOWN_SOURCE = "(unknown)"


def raw_bytes(raw: bytes) -> bytes:
    """The decoder of events.normalized: the handler parses, so that a message that is not
    a LifeEvent is counted against its source and day before it is dead-lettered."""
    return raw


def content_digest(event: LifeEvent) -> bytes:
    """Near duplicates (Q-ENT-03) share this: person, source, time, region, attributes."""
    key = orjson.dumps(
        [
            event.source,
            event.person.pseudonym,
            event.occurred_at.isoformat(),
            event.region,
            event.attributes,
        ],
        option=orjson.OPT_SORT_KEYS,
        default=str,
    )
    return hashlib.blake2b(key, digest_size=16).digest()


@dataclass(slots=True)
class _Checked:
    item: Envelope[bytes]
    event: LifeEvent
    digest: bytes
    counted: tuple[str, date]  # source and Beijing day of arrival (the counts' key)
    duplicate_of: str | None = None
    near_duplicate_of: Any = None
    redelivery: bool = False  # seen at these very coordinates: emitted again, not counted


class NormalizedHandler:
    """Apply the table-1 rules; pass, pass with warnings, quarantine or drop (R-7.3.2).

    Every message is counted exactly once per source and Beijing day of arrival:
    received = accepted + quarantined + rejected + duplicates. Clean and warned events go
    on unchanged (their bytes as received: nothing is re-encoded on the hot path).
    """

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, session: AsyncSession, batch: Batch[bytes]) -> None:
        counts: Counts = defaultdict(Counter)
        checked = self._parse(batch, counts)
        fresh, duplicates = await self._split(session, checked)
        findings: list[dict[str, Any]] = []
        for c in duplicates:
            ctx = Context(
                now=c.event.received_at,
                duplicate_of=c.duplicate_of,
                near_duplicate_of=c.near_duplicate_of,
            )
            results = assess(c.event, c.event.source_spec, ctx, DUPLICATE_RULES)
            findings += _finding_rows(c.event, results)
            counts[c.counted]["duplicates"] += 1
        await self._check(session, batch, fresh, counts, findings)
        await repository.record_findings(session, findings)
        await repository.add_counts(session, counts)

    @staticmethod
    def _parse(batch: Batch[bytes], counts: Counts) -> list[_Checked]:
        checked = []
        for item in batch.items:
            try:
                event = LifeEvent.model_validate_json(item.value)
            except (ValidationError, ValueError, KeyError) as error:
                # KeyError: the catalogue's UnknownSource, which pydantic lets through.
                key = _claimed(item)
                counts[key]["received"] += 1
                counts[key]["rejected"] += 1
                batch.reject(item, f"not a LifeEvent: {describe_error(error)}")
                continue
            key = _counted(event)
            counts[key]["received"] += 1
            checked.append(_Checked(item, event, content_digest(event), key))
        return checked

    @staticmethod
    async def _split(
        session: AsyncSession, checked: list[_Checked]
    ) -> tuple[list[_Checked], list[_Checked]]:
        """Entity integrity: the first sighting of an id and of a content goes on; a
        redelivery (same id, same coordinates) is processed again, idempotently; another
        copy is an exact (same id) or near (same content) duplicate. Within a batch the
        record received first is the original (departments' copies come later, but the
        partitions before quality need not keep their order)."""
        checked = sorted(checked, key=lambda c: c.event.received_at)
        rows = [
            {
                "event_id": c.event.event_id,
                "topic": c.item.topic,
                "partition": c.item.partition,
                "offset": c.item.offset,
                "source": c.event.source,
                "source_record_id": c.event.provenance.source_record_id[:128],
                "content_digest": c.digest,
                "occurred_at": c.event.occurred_at,
                "received_at": c.event.received_at,
            }
            for c in checked
        ]
        new = await repository.claim_events(session, rows)
        fresh: list[_Checked] = []
        suspects: list[_Checked] = []
        taken: set[Any] = set()
        for c in checked:
            if c.event.event_id in new and c.event.event_id not in taken:
                taken.add(c.event.event_id)
                fresh.append(c)
            else:
                suspects.append(c)
        if not suspects:
            return fresh, []
        where, owner = await repository.prior_sightings(
            session, (c.event.event_id for c in suspects), (c.digest for c in suspects)
        )
        duplicates = []
        for c in suspects:
            here = (c.item.topic, c.item.partition, c.item.offset)
            first = where.get(c.event.event_id)
            holder = owner.get(c.digest)
            if first == here:
                c.redelivery = True  # the batch is replayed after a crash: emit again
                fresh.append(c)
            elif first is not None:
                c.duplicate_of = f"first at {first[0]}[{first[1]}]@{first[2]}"
                duplicates.append(c)
            elif holder is not None and holder != c.event.event_id:
                c.near_duplicate_of = holder
                duplicates.append(c)
            else:
                fresh.append(c)
        return fresh, duplicates

    async def _check(
        self,
        session: AsyncSession,
        batch: Batch[bytes],
        fresh: list[_Checked],
        counts: Counts,
        findings: list[dict[str, Any]],
    ) -> None:
        pseudonyms = [c.event.person.pseudonym for c in fresh]
        loaded = await repository.registry_loaded(session)
        registry = await repository.pensioners(session, pseudonyms) if loaded else {}
        dying = [c for c in fresh if death_date_of(c.event) is not None]
        deaths = await repository.deaths_of(session, (c.event.person.pseudonym for c in dying))
        now = self._clock.now()
        for c in fresh:
            event = c.event
            person = event.person.pseudonym
            # The rules judge an event against its arrival, not against our clock: a
            # replayed or simulated feed is judged as it was when it came in.
            ctx = Context(
                now=event.received_at,
                registry_loaded=loaded,
                pensioner=registry.get(person),
                deaths=tuple(deaths.get(person, ())),
            )
            results = assess(event, event.source_spec, ctx, CONTENT_RULES)
            if results:
                findings += _finding_rows(event, results)
            # A redelivered message was counted when its transaction first committed.
            key = c.counted
            tally = _NOT_COUNTED if c.redelivery else counts[key]
            if c.redelivery:
                counts[key]["received"] -= 1
            if results:
                if is_quarantined(results):
                    tally["quarantined"] += 1
                    batch.emit(_quarantined(c.item, event, results, now))
                    continue
                tally["warned"] += 1
            tally["accepted"] += 1
            batch.emit(
                OutMessage(topics.EVENTS_VALIDATED, c.item.value, person, c.item.trace_headers)
            )
        await repository.add_deaths(
            session,
            [
                {
                    "pseudonym": c.event.person.pseudonym,
                    "event_id": c.event.event_id,
                    "source": c.event.source,
                    "death_date": death_date_of(c.event),
                }
                for c in dying
            ],
        )


def _counted(event: LifeEvent) -> tuple[str, date]:
    return event.source, local_date(event.received_at)


def _claimed(item: Envelope[bytes]) -> tuple[str, date]:
    """The source and arrival day a message that is not a LifeEvent claims, if it can be
    read; else the unknown source and the day of its Kafka timestamp."""
    day = local_date(datetime.fromtimestamp(item.timestamp_ms / 1000, UTC))
    try:
        value = orjson.loads(item.value)
    except orjson.JSONDecodeError:
        return UNKNOWN_SOURCE, day
    if not isinstance(value, dict):
        return UNKNOWN_SOURCE, day
    source = value.get("source")
    # Only catalogue codes: a stream of invented names must not grow the counts table.
    return (source if isinstance(source, str) and source in CATALOGUE else UNKNOWN_SOURCE), day


def bounded(event: LifeEvent) -> LifeEvent:
    """The event with oversized or nested attribute values replaced by what they were, so
    that a quarantined copy or a stored example stays small (the original stays upstream)."""
    attributes: dict[str, Any] = {}
    changed = False
    for name, value in event.attributes.items():
        if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            attributes[name] = f"<{len(value):,} characters, not kept>"
            changed = True
        elif isinstance(value, dict | list) and len(orjson.dumps(value)) > MAX_VALUE_CHARS:
            attributes[name] = f"<a {type(value).__name__} too large, not kept>"
            changed = True
        else:
            attributes[name] = value
    return event.model_copy(update={"attributes": attributes}) if changed else event


def _finding_rows(event: LifeEvent, results: list[Finding]) -> list[dict[str, Any]]:
    if not results:
        return []
    stored = bounded(event).model_dump(mode="json")
    return [
        {
            "event_id": event.event_id,
            "rule_id": f.rule.id,
            "source": event.source,
            "severity": f.rule.severity.value,
            "message": f.message[:500],
            "day": local_date(event.received_at),
            "event": stored,
            "received_at": event.received_at,
        }
        for f in results
    ]


def _quarantined(
    item: Envelope[bytes], event: LifeEvent, results: list[Finding], now: datetime
) -> OutMessage:
    failures = [
        RuleFailure(
            rule_id=f.rule.id,
            dimension=f.rule.dimension.value,
            severity=f.rule.severity.value,
            message=f.message,
        )
        for f in results
    ]
    return OutMessage.of(
        topics.EVENTS_QUARANTINED,
        QuarantinedEvent(event=bounded(event), failures=failures, checked_at=now),
        key=event.person.pseudonym,
        headers=item.trace_headers,
    )


class RegistryHandler:
    """``on_registry_pensioners``: quality's own copy of what it checks events against."""

    async def __call__(self, session: AsyncSession, batch: Batch[PensionerRecord]) -> None:
        latest: dict[str, PensionerRecord] = {}
        for item in batch.items:
            record = item.value
            kept = latest.get(record.pseudonym)
            if kept is None or kept.updated_at <= record.updated_at:
                latest[record.pseudonym] = record
        await repository.upsert_pensioners(
            session,
            [
                {
                    "pseudonym": r.pseudonym,
                    "sex": r.sex,
                    "birth_date": r.birth_date,
                    "updated_at": r.updated_at,
                }
                for r in latest.values()
            ],
        )
