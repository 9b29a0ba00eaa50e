"""The matcher's Kafka handlers: ``on_events_validated`` and ``on_registry_pensioner``.

Both end in :meth:`Certifier.reevaluate`, the one place a status is computed and published
(the daily sweep will call it too). Outputs go through the outbox: they depend on the
state this transaction changes, and the inbox would drop a redelivered input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign import topics
from lifesign.bus import Batch, Envelope, Headers, OutMessage, describe_error, encode
from lifesign.calendar import RegionalAlignment
from lifesign.catalogue import CertificationMethod, EvidenceClass
from lifesign.certification import Evidence, EvidenceKind, as_loss, fold, local_date
from lifesign.clock import Clock
from lifesign.events import EventHead, LifeEvent, PensionerRecord, ScoringDecision
from lifesign.messaging import Outbox
from lifesign_matcher import repository
from lifesign_matcher.service import Outcome, classify, evidence_of, next_change

REVIEW_REASON = "R-7.3.3.2: loss evidence whose id matches a pensioner but whose name does not"


class Certifier:
    """Folds evidence, recomputes statuses and publishes the changes (R-6, R-7.5.1, R-7.10):
    the one place a status is computed, for events, registry updates, scoring decisions,
    reviews and the daily sweep alike."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        clock: Clock,
        alignment: RegionalAlignment = RegionalAlignment(),  # noqa: B008  (immutable)
    ) -> None:
        self._outbox = outbox
        self._clock = clock
        self._alignment = alignment  # by the region that pays the pension

    async def reevaluate(
        self,
        session: AsyncSession,
        moments: dict[str, datetime],
        headers: dict[str, Headers],
    ) -> int:
        """Recompute the status of each person as of their moment; no new evidence."""
        return await self.certify(session, {}, moments, headers)

    async def certify(
        self,
        session: AsyncSession,
        evidence: dict[str, list[Evidence]],
        moments: dict[str, datetime],
        headers: dict[str, Headers],
    ) -> int:
        """Fold each person's new evidence into their locked state, then recompute their
        status as of their moment (the arrival of the evidence that touched them;
        ARCHITECTURE principle 5) and publish what moved."""
        loaded = await repository.lock_and_load(session, moments)
        now = self._clock.now()
        states, changes, losses = [], [], []
        for key, (state, published) in loaded.items():
            for item in evidence.get(key, ()):
                state = fold(state, item)
                if item.kind in (EvidenceKind.DEATH, EvidenceKind.PRISON):
                    losses.append((key, as_loss(item)))
            states.append(state)
            moment = min(moments[key], now)
            change = next_change(
                state,
                published,
                as_of=local_date(moment),
                now=moment,
                alignment=self._alignment.for_region(published.benefit_region),
            )
            if change is not None:
                changes.append(change)
        await repository.add_losses(session, losses)
        await repository.save(session, states, changes)
        await self._outbox.add(
            session,
            [
                OutMessage.of(
                    topics.STATE_CHANGES, c, key=c.pseudonym, headers=headers.get(c.pseudonym, [])
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

    async def __call__(self, session: AsyncSession, batch: Batch[EventHead | LifeEvent]) -> None:
        """The consumer decodes only each event's :class:`EventHead` (``decode_head``):
        auxiliary events are forwarded as they came; direct ones are validated whole here,
        and one that is not a valid :class:`LifeEvent` is dead-lettered with the reason."""
        direct: list[Envelope[LifeEvent]] = []
        for item in batch.items:
            if item.value.evidence is EvidenceClass.AUXILIARY_ALIVE:
                # straight on to scoring, unchanged and without touching the
                # database: the output is a pure function of the input, so it is emitted
                # after commit and a redelivered copy is dropped by scoring's inbox.
                batch.emit(_forward(item, Outcome.AUXILIARY))
                continue
            try:
                direct.append(_whole(item))
            except ValidationError as error:
                batch.reject(item, describe_error(error))
        if direct:
            await self._direct(session, batch, direct)

    async def _direct(
        self,
        session: AsyncSession,
        batch: Batch[EventHead | LifeEvent],
        items: list[Envelope[LifeEvent]],
    ) -> None:
        """R-7.5.1: match direct evidence, record the branch (the inbox), then apply it."""
        registry = await repository.registry_entries(
            session, (i.value.person.pseudonym for i in items)
        )
        decided = [(i, classify(i.value, registry.get(i.value.person.pseudonym))) for i in items]
        fresh = await repository.claim_events(
            session, [_decision_row(i.value, o) for i, o in decided]
        )
        todo = [(i, o) for i, o in _first_of_each(decided) if i.value.event_id in fresh]
        # Unmatched direct evidence goes to scoring (R-7.5.1 c) through the outbox: it is
        # claimed in this transaction, so a redelivery would not forward it again.
        await self._outbox.add(session, [_forward(i, o) for i, o in todo if o is Outcome.UNMATCHED])
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
            evidence: dict[str, list[Evidence]] = {}
            moments: dict[str, datetime] = {}
            for item in todays:
                who, arrived = item.value.person.pseudonym, item.value.received_at
                evidence.setdefault(who, []).append(evidence_of(item.value))
                moments[who] = max(moments.get(who, arrived), arrived)
            headers = {i.value.person.pseudonym: i.trace_headers for i in todays}
            await self._certifier.certify(session, evidence, moments, headers)


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


def decode_head(raw: bytes) -> EventHead:
    """The matcher's decoder: the head of a validated event (see :class:`EventHead`)."""
    return EventHead.model_validate_json(raw)


def _whole(item: Envelope[EventHead | LifeEvent]) -> Envelope[LifeEvent]:
    """The item with its whole event, validated from the bytes it arrived as."""
    value = item.value
    event = value if isinstance(value, LifeEvent) else LifeEvent.model_validate_json(item.raw)
    return Envelope(
        event,
        item.topic,
        item.partition,
        item.offset,
        item.key,
        item.headers,
        item.timestamp_ms,
        item.raw,
    )


def _forward(
    item: Envelope[EventHead | LifeEvent] | Envelope[LifeEvent], outcome: Outcome
) -> OutMessage:
    """The AuxiliaryEvent for scoring, around the event's bytes as they arrived."""
    value = item.value
    if item.raw:
        event = item.raw
    elif isinstance(value, LifeEvent):  # made here, not received (a late match, a test)
        event = encode(value)
    else:
        raise ValueError("an event head without the bytes it came in")
    message = b'{"schema_version":1,"event":' + event + b',"outcome":"' + outcome.encode() + b'"}'
    return OutMessage(topics.EVENTS_AUXILIARY, message, value.person.pseudonym, item.trace_headers)


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
        await repository.lock_and_load(session, (r.pseudonym for r in records))
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


class DecisionHandler:
    """``on_decisions``: scoring's auxiliary analysis (R-7.5.2.3) folded like any evidence.

    Confirmed: a proof of life at ``proof_at`` with method ``big_data_aux``. Not confirmed:
    a person in the warning period becomes pending verification now (the fold keeps the
    latest such day; :func:`lifesign.certification.status_on` applies it). A decision about
    someone not in the registry changes nothing; scoring never suspends anyone.
    """

    def __init__(self, *, certifier: Certifier) -> None:
        self._certifier = certifier

    async def __call__(self, session: AsyncSession, batch: Batch[ScoringDecision]) -> None:
        fresh = await repository.claim_decisions(session, [i.value for i in batch.items])
        items = [i for i in batch.items if i.value.decision_id in fresh]
        registry = await repository.registry_entries(session, (i.value.pseudonym for i in items))
        evidence: dict[str, list[Evidence]] = {}
        moments: dict[str, datetime] = {}
        headers: dict[str, Headers] = {}
        for item in items:
            decision = item.value
            if decision.pseudonym not in registry:
                continue
            evidence.setdefault(decision.pseudonym, []).append(decision_evidence(decision))
            known = moments.get(decision.pseudonym, decision.decided_at)
            moments[decision.pseudonym] = max(known, decision.decided_at)
            headers[decision.pseudonym] = item.trace_headers
        await self._certifier.certify(session, evidence, moments, headers)


def decision_evidence(decision: ScoringDecision) -> Evidence:
    """The fold's input for one scoring decision; its id is the decision's."""
    if decision.confirmed:
        return Evidence(
            kind=EvidenceKind.ALIVE,
            event_id=decision.decision_id,
            occurred_at=decision.proof_at,
            source=f"scoring:{decision.model_version}"[:64],
            method=CertificationMethod.BIG_DATA_AUX,
        )
    return Evidence(
        kind=EvidenceKind.UNCONFIRMED,
        event_id=decision.decision_id,
        occurred_at=decision.decided_at,
        source=f"scoring:{decision.model_version}"[:64],
    )
