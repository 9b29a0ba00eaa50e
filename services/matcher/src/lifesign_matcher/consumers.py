"""The matcher's Kafka handlers: ``on_events_validated`` and ``on_registry_pensioner``.

Both end in :meth:`Certifier.reevaluate`, the one place a status is computed and published
(the daily sweep will call it too). Outputs go through the outbox: they depend on the
state this transaction changes, and the inbox would drop a redelivered input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign import topics
from lifesign.bus import Batch, Envelope, Headers, OutMessage
from lifesign.calendar import AnnualAlignment
from lifesign.certification import (
    EvidenceKind,
    LossRecord,
    ProofOfLife,
    as_loss,
    as_proof,
    local_date,
)
from lifesign.clock import Clock
from lifesign.events import AuxiliaryEvent, LifeEvent, PensionerRecord
from lifesign.messaging import Outbox
from lifesign_matcher import repository
from lifesign_matcher.service import Outcome, classify, evidence_of, next_change

REVIEW_REASON = "R-7.3.3.2: loss evidence whose id matches a pensioner but whose name does not"


class Certifier:
    """Recomputes statuses and publishes the changes (R-6, R-7.5.1 d, R-7.10)."""

    def __init__(
        self, *, outbox: Outbox, clock: Clock, alignment: AnnualAlignment | None = None
    ) -> None:
        self._outbox = outbox
        self._clock = clock
        self._alignment = alignment

    async def reevaluate(
        self,
        session: AsyncSession,
        moments: dict[str, datetime],
        headers: dict[str, Headers],
    ) -> int:
        """Recompute the status of each person as of their moment (the arrival of the
        evidence that touched them; ARCHITECTURE principle 5) and publish what moved."""
        keys = await repository.lock_states(session, moments)
        states = await repository.load_states(session, keys)
        now = self._clock.now()
        changes = []
        for key in keys:
            state, published = states[key]
            moment = min(moments[key], now)
            change = next_change(
                state,
                published,
                as_of=local_date(moment),
                now=moment,
                alignment=self._alignment,
            )
            if change is not None:
                changes.append(change)
        await repository.record_changes(session, changes)
        await self._outbox.add(
            session,
            [
                OutMessage.of(
                    topics.STATE_CHANGES,
                    c,
                    key=c.pseudonym,
                    headers=headers.get(c.pseudonym, []),
                )
                for c in changes
            ],
        )
        return len(changes)


class ValidatedHandler:
    """``on_events_validated``: label (R-7.4), match (R-7.5.1), fold, re-evaluate."""

    def __init__(self, *, certifier: Certifier, outbox: Outbox) -> None:
        self._certifier = certifier
        self._outbox = outbox

    async def __call__(self, session: AsyncSession, batch: Batch[LifeEvent]) -> None:
        events = [item.value for item in batch.items]
        registry = await repository.registry_entries(session, (e.person.pseudonym for e in events))
        decided = [
            (item, classify(item.value, registry.get(item.value.person.pseudonym)))
            for item in batch.items
        ]
        fresh = await repository.claim_events(
            session, [_decision_row(i.value, o) for i, o in decided]
        )
        todo = [
            (item, outcome)
            for item, outcome in _first_of_each(decided)
            if item.value.event_id in fresh
        ]
        await self._forward_to_scoring(session, todo)
        await repository.keep_unmatched(
            session,
            [
                i.value
                for i, o in todo
                if o is Outcome.UNMATCHED and i.value.person.pseudonym not in registry
            ],
        )
        await self.apply(session, todo)

    async def apply(
        self, session: AsyncSession, todo: list[tuple[Envelope[LifeEvent], Outcome]]
    ) -> None:
        """Reviews (R-7.3.3.2), then the fold and evaluation of branches a) and b)."""
        await repository.add_reviews(
            session, [i.value for i, o in todo if o is Outcome.NAME_REVIEW], REVIEW_REASON
        )
        applied = [i for i, o in todo if o in (Outcome.PROOF_OF_LIFE, Outcome.LOSS)]
        # Fold and evaluate one day of arrivals at a time, oldest first: a batch spans one
        # day in production, but a replayed or simulated feed packs months into one batch,
        # and each change must be dated when its evidence arrived (principle 5).
        for day in sorted({local_date(i.value.received_at) for i in applied}):
            todays = [i for i in applied if local_date(i.value.received_at) == day]
            await self._fold(session, todays)
            headers = {i.value.person.pseudonym: i.trace_headers for i in todays}
            moments: dict[str, datetime] = {}
            for item in todays:
                who, arrived = item.value.person.pseudonym, item.value.received_at
                moments[who] = max(moments.get(who, arrived), arrived)
            await self._certifier.reevaluate(session, moments, headers)

    async def _forward_to_scoring(
        self, session: AsyncSession, todo: list[tuple[Envelope[LifeEvent], Outcome]]
    ) -> None:
        """R-7.5.1 c and R-7.4.3: unmatched and auxiliary evidence go to scoring."""
        messages = [
            OutMessage.of(
                topics.EVENTS_AUXILIARY,
                AuxiliaryEvent(event=item.value, outcome=outcome.value),
                key=item.value.person.pseudonym,
                headers=item.trace_headers,
            )
            for item, outcome in todo
            if outcome in (Outcome.AUXILIARY, Outcome.UNMATCHED)
        ]
        await self._outbox.add(session, messages)

    @staticmethod
    async def _fold(session: AsyncSession, applied: list[Envelope[LifeEvent]]) -> None:
        best: dict[str, ProofOfLife] = {}
        losses: list[tuple[str, LossRecord]] = []
        await repository.lock_states(session, (i.value.person.pseudonym for i in applied))
        for item in applied:
            who = item.value.person.pseudonym
            evidence = evidence_of(item.value)
            if evidence.kind is EvidenceKind.ALIVE:
                proof = as_proof(evidence)
                if who not in best or proof > best[who]:
                    best[who] = proof
            else:
                losses.append((who, as_loss(evidence)))
        await repository.raise_proofs_of_life(session, list(best.values()), list(best))
        await repository.add_losses(session, losses)


def _first_of_each(
    decided: list[tuple[Envelope[LifeEvent], Outcome]],
) -> list[tuple[Envelope[LifeEvent], Outcome]]:
    """The same event twice in one batch is handled once."""
    seen: set[Any] = set()
    result = []
    for item, outcome in decided:
        if item.value.event_id not in seen:
            seen.add(item.value.event_id)
            result.append((item, outcome))
    return result


def _decision_row(event: LifeEvent, outcome: Outcome) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "pseudonym": event.person.pseudonym,
        "source": event.source,
        "evidence": event.evidence.value,
        "outcome": outcome.value,
        "occurred_at": event.occurred_at,
    }


class RegistryHandler:
    """``on_registry_pensioner``: keep the base-information projection; match evidence
    that arrived before the pensioner did; re-evaluate."""

    def __init__(self, *, certifier: Certifier, events: ValidatedHandler | None = None) -> None:
        self._certifier = certifier
        self._events = events

    async def __call__(self, session: AsyncSession, batch: Batch[PensionerRecord]) -> None:
        records = [item.value for item in batch.items]
        await repository.lock_states(session, (r.pseudonym for r in records))
        await repository.upsert_pensioners(session, records)
        await self._match_late(session, [r.pseudonym for r in records])
        moments: dict[str, datetime] = {}
        for record in records:
            moments[record.pseudonym] = max(
                moments.get(record.pseudonym, record.updated_at), record.updated_at
            )
        await self._certifier.reevaluate(session, moments, {})

    async def _match_late(self, session: AsyncSession, pseudonyms: list[str]) -> None:
        """Evidence kept as unmatched (R-7.5.1 c) is matched now that the person is known."""
        if self._events is None:
            return
        late = await repository.take_unmatched(session, pseudonyms)
        if not late:
            return
        registry = await repository.registry_entries(session, (e.person.pseudonym for e in late))
        decided = [(e, classify(e, registry.get(e.person.pseudonym))) for e in late]
        await repository.set_outcomes(session, [(e.event_id, o.value) for e, o in decided])
        todo = [(Envelope(e, "late", 0, 0, None, [], 0), o) for e, o in decided]
        await self._events.apply(session, todo)
