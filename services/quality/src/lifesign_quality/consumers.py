"""Quality's Kafka handler: ``on_events_normalized``."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign import topics
from lifesign.bus import Batch, Envelope, OutMessage
from lifesign.clock import Clock
from lifesign.events import LifeEvent
from lifesign_quality import repository
from lifesign_quality.schemas import QuarantinedEvent, RuleFailure
from lifesign_quality.service import Context, assess, is_quarantined


class NormalizedHandler:
    """Apply the table-1 rules; pass, pass with warnings, or quarantine (R-7.3.2).

    Every event is counted exactly once per source and day:
    received = accepted + quarantined + duplicates.
    """

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    async def __call__(self, session: AsyncSession, batch: Batch[LifeEvent]) -> None:
        now = self._clock.now()
        counts: dict[tuple[str, date], Counter[str]] = defaultdict(Counter)
        findings: list[dict[str, Any]] = []
        originals = await repository.first_sightings(session, batch.items)
        for item in self._fresh(batch.items, originals, counts):
            event = item.value
            # The rules judge an event against its arrival, not against our clock: a
            # replayed or simulated feed is judged as it was when it came in.
            results = assess(event, event.source_spec, Context(now=event.received_at))
            counted = (event.source, event.received_at.date())
            findings += [
                {
                    "event_id": event.event_id,
                    "rule_id": f.rule.id,
                    "source": event.source,
                    "severity": f.rule.severity.value,
                    "message": f.message[:500],
                    "day": event.received_at.date(),
                    "event": event.model_dump(mode="json"),
                }
                for f in results
            ]
            if is_quarantined(results):
                counts[counted]["quarantined"] += 1
                failures = [
                    RuleFailure(
                        rule_id=f.rule.id,
                        dimension=f.rule.dimension.value,
                        severity=f.rule.severity.value,
                        message=f.message,
                    )
                    for f in results
                ]
                batch.emit(
                    OutMessage.of(
                        topics.EVENTS_QUARANTINED,
                        QuarantinedEvent(event=event, failures=failures, checked_at=now),
                        key=event.person.pseudonym,
                        headers=item.trace_headers,
                    )
                )
                continue
            counts[counted]["accepted"] += 1
            counts[counted]["warned"] += 1 if results else 0
            batch.emit(
                OutMessage.of(
                    topics.EVENTS_VALIDATED,
                    event,
                    key=event.person.pseudonym,
                    headers=item.trace_headers,
                )
            )
        await repository.record_findings(session, findings)
        await repository.add_counts(session, counts)

    @staticmethod
    def _fresh(
        items: list[Envelope[LifeEvent]],
        originals: dict[Any, repository.Coordinates],
        counts: dict[tuple[str, date], Counter[str]],
    ) -> list[Envelope[LifeEvent]]:
        """Drop duplicate records (entity integrity, table 1), keeping redeliveries."""
        fresh = []
        taken: set[Any] = set()
        for item in items:
            event = item.value
            counted = (event.source, event.received_at.date())
            counts[counted]["received"] += 1
            here = (item.topic, item.partition, item.offset)
            if originals.get(event.event_id) != here or event.event_id in taken:
                counts[counted]["duplicates"] += 1
                continue
            taken.add(event.event_id)
            fresh.append(item)
        return fresh
