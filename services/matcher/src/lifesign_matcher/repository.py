"""Every SQL statement of the matcher."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.catalogue import CertificationMethod, LossKind
from lifesign.certification import (
    CertificationState,
    LossRecord,
    ProofOfLife,
    StateChange,
)
from lifesign.db import bulk_insert, bulk_update, compiled, fetch, replace_on_conflict
from lifesign.events import LifeEvent, PensionerRecord, ScoringDecision
from lifesign_matcher.models import (
    certification,
    loss_evidence,
    matched_event,
    pensioner,
    retraction,
    review,
    scoring_decision,
    transition,
    unmatched_event,
)
from lifesign_matcher.service import Published, RegistryEntry


def _any(column: Any) -> Any:
    """``column = ANY($1)``: the batch's keys as one array parameter."""
    return column == any_(bindparam("keys", type_=ARRAY(String)))


# The statements a batch of direct events makes, built once and run on the session's
# asyncpg connection (lifesign.db.fetch): per row, SQLAlchemy's result processing cost
# more than the query.
_REGISTRY = compiled(
    select(pensioner.c.pseudonym, pensioner.c.name_digest).where(_any(pensioner.c.pseudonym))
)
# Rows are locked in key order, so replicas locking overlapping people cannot deadlock.
_LOCK_AND_LOAD = compiled(
    select(
        certification,
        pensioner.c.benefit_start,
        pensioner.c.base_certified_on,
        pensioner.c.benefit_region,
        pensioner.c.residence_region,
    )
    .outerjoin(pensioner, pensioner.c.pseudonym == certification.c.pseudonym)
    .where(_any(certification.c.pseudonym))
    .order_by(certification.c.pseudonym)
    .with_for_update(of=certification)
)
_LOSSES = compiled(select(loss_evidence).where(_any(loss_evidence.c.pseudonym)))
_RETRACTIONS = compiled(
    select(retraction.c.pseudonym, retraction.c.retracts).where(_any(retraction.c.pseudonym))
)


async def registry_entries(
    session: AsyncSession, pseudonyms: Iterable[str]
) -> dict[str, RegistryEntry]:
    keys = sorted(set(pseudonyms))
    if not keys:
        return {}
    rows = await fetch(session, _REGISTRY, keys)
    return {r[0]: RegistryEntry(r[0], r[1]) for r in rows}


async def upsert_pensioners(session: AsyncSession, records: Sequence[PensionerRecord]) -> None:
    """The latest record of each pensioner wins (a compacted topic may replay old ones)."""
    latest: dict[str, PensionerRecord] = {}
    for record in records:
        known = latest.get(record.pseudonym)
        if known is None or record.updated_at >= known.updated_at:
            latest[record.pseudonym] = record
    values = [
        {
            "pseudonym": r.pseudonym,
            "name_digest": r.name_digest,
            "person_id": r.person_id,
            "benefit_start": r.benefit_start,
            "base_certified_on": r.last_certified_on,
            "benefit_region": r.benefit_region,
            "residence_region": r.residence_region,
            "record": r.model_dump(mode="json"),
            "updated_at": r.updated_at,
        }
        for r in latest.values()
    ]
    if not values:
        return
    statement = replace_on_conflict(
        pensioner, values, where=lambda new: new.updated_at >= pensioner.c.updated_at
    )
    await session.execute(statement, values)
    await bulk_insert(
        session, certification, [{"pseudonym": p} for p in sorted(latest)], on_conflict="nothing"
    )


async def claim_events(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Record decisions; return the event ids seen for the first time (the inbox)."""
    claimed = await bulk_insert(
        session, matched_event, rows, on_conflict="nothing", returning=["event_id"]
    )
    return {r["event_id"] for r in claimed}


async def lock_and_load(
    session: AsyncSession, pseudonyms: Iterable[str]
) -> dict[str, tuple[CertificationState, Published]]:
    """Create missing state rows, lock them in a fixed order (no deadlocks between
    replicas) and rebuild each state from its rows with what was last published."""
    keys = sorted(set(pseudonyms))
    if not keys:
        return {}
    found = await _lock_and_load(session, keys)
    missing = [k for k in keys if k not in found]
    if missing:
        # Registered pensioners have a row from the start (upsert_pensioners); evidence
        # or a sweep can still reach someone first, so create theirs now.
        await bulk_insert(
            session, certification, [{"pseudonym": k} for k in missing], on_conflict="nothing"
        )
        found |= await _lock_and_load(session, missing)
    return found


async def _lock_and_load(
    session: AsyncSession, keys: list[str]
) -> dict[str, tuple[CertificationState, Published]]:
    rows = await fetch(session, _LOCK_AND_LOAD, keys)
    losses = await _losses(session, keys)
    retracted = await _retractions(session, keys)
    return {r["pseudonym"]: _state_of(r, losses, retracted) for r in rows}


def _state_of(
    r: Any, losses: dict[str, list[LossRecord]], retracted: dict[str, list[uuid.UUID]]
) -> tuple[CertificationState, Published]:
    """A row of ``_LOCK_AND_LOAD`` (an asyncpg Record) as the fold's state and what was
    last published."""
    who = r["pseudonym"]
    alive = (
        ProofOfLife(
            r["alive_at"],
            r["alive_event_id"],
            CertificationMethod(r["alive_method"]),
            r["alive_source"],
        )
        if r["alive_at"] is not None
        else None
    )
    state = CertificationState(
        pseudonym=who,
        benefit_start=r["benefit_start"],
        base_certified_on=r["base_certified_on"],
        last_alive=alive,
        losses=frozenset(losses.get(who, ())),
        retracted=frozenset(retracted.get(who, ())),
        unconfirmed_on=r["unconfirmed_on"],
    )
    published = Published(
        r["status"],
        r["rule"],
        r["conflict"],
        r["hold_payment"],
        r["validity_start"],
        r["validity_end"],
        r["version"],
        r["benefit_region"],
        r["residence_region"],
        r["changed_at"],
    )
    return state, published


async def add_losses(session: AsyncSession, losses: Sequence[tuple[str, LossRecord]]) -> None:
    values = [
        {
            "event_id": loss.event_id,
            "pseudonym": who,
            "kind": loss.kind.value,
            "occurred_on": loss.occurred_on,
            "released_on": loss.released_on,
            "source": loss.source,
        }
        for who, loss in losses
    ]
    await bulk_insert(session, loss_evidence, values, on_conflict="nothing")


async def keep_unmatched(session: AsyncSession, events: Sequence[LifeEvent]) -> None:
    values = [
        {
            "event_id": e.event_id,
            "pseudonym": e.person.pseudonym,
            "event": e.model_dump(mode="json"),
        }
        for e in events
    ]
    await bulk_insert(session, unmatched_event, values, on_conflict="nothing")


async def take_unmatched(session: AsyncSession, pseudonyms: Sequence[str]) -> list[LifeEvent]:
    """The kept evidence of these people, removed from the waiting table."""
    if not pseudonyms:
        return []
    rows = await session.execute(
        unmatched_event.delete()
        .where(unmatched_event.c.pseudonym.in_(sorted(set(pseudonyms))))
        .returning(unmatched_event.c.event)
    )
    return [LifeEvent.model_validate(r.event) for r in rows]


async def set_outcomes(session: AsyncSession, outcomes: Sequence[tuple[uuid.UUID, str]]) -> None:
    for event_id, outcome in outcomes:
        await session.execute(
            matched_event.update()
            .where(matched_event.c.event_id == event_id)
            .values(outcome=outcome)
        )


async def open_review(session: AsyncSession, event_id: uuid.UUID) -> LifeEvent | None:
    """The event waiting for a reviewer, locked; None if unknown or already resolved."""
    row = (
        await session.execute(
            select(review.c.event)
            .where(review.c.event_id == event_id, review.c.resolved_at.is_(None))
            .with_for_update()
        )
    ).first()
    return LifeEvent.model_validate(row.event) if row else None


async def resolve_review(
    session: AsyncSession, event_id: uuid.UUID, resolution: str, reviewer: str, at: datetime
) -> None:
    await session.execute(
        review.update()
        .where(review.c.event_id == event_id)
        .values(resolution=resolution, reviewer=reviewer, resolved_at=at)
    )


async def loss_owner(session: AsyncSession, event_id: uuid.UUID) -> str | None:
    owner = await session.scalar(
        select(loss_evidence.c.pseudonym).where(loss_evidence.c.event_id == event_id)
    )
    return str(owner) if owner else None


async def add_retraction(
    session: AsyncSession,
    *,
    retraction_id: uuid.UUID,
    pseudonym: str,
    retracts: uuid.UUID,
    reason: str,
    reviewer: str,
) -> None:
    await session.execute(
        insert(retraction)
        .values(
            event_id=retraction_id,
            pseudonym=pseudonym,
            retracts=retracts,
            reason=reason,
            reviewer=reviewer,
        )
        .on_conflict_do_nothing()
    )


async def add_reviews(session: AsyncSession, events: Sequence[LifeEvent], reason: str) -> None:
    values = [
        {
            "event_id": e.event_id,
            "pseudonym": e.person.pseudonym,
            "source": e.source,
            "reason": reason,
            "event": e.model_dump(mode="json"),
        }
        for e in events
    ]
    await bulk_insert(session, review, values, on_conflict="nothing")


async def _losses(session: AsyncSession, pseudonyms: Sequence[str]) -> dict[str, list[LossRecord]]:
    found: dict[str, list[LossRecord]] = {}
    for r in await fetch(session, _LOSSES, pseudonyms):
        found.setdefault(r["pseudonym"], []).append(
            LossRecord(
                r["event_id"], LossKind(r["kind"]), r["occurred_on"], r["source"], r["released_on"]
            )
        )
    return found


async def _retractions(
    session: AsyncSession, pseudonyms: Sequence[str]
) -> dict[str, list[uuid.UUID]]:
    found: dict[str, list[uuid.UUID]] = {}
    for r in await fetch(session, _RETRACTIONS, pseudonyms):
        found.setdefault(r["pseudonym"], []).append(r["retracts"])
    return found


async def save(
    session: AsyncSession,
    states: Sequence[CertificationState],
    changes: Sequence[StateChange],
) -> None:
    """Store the folded states, the transitions that explain each change, and the status
    last published (one statement each for the batch, principle 6)."""
    await bulk_insert(
        session,
        transition,
        [
            {
                "change_id": c.change_id,
                "pseudonym": c.pseudonym,
                "version": c.version,
                "from_status": c.from_status.value if c.from_status else None,
                "to_status": c.to_status.value,
                "rule": c.rule,
                "conflict": c.conflict,
                "evidence": [str(e) for e in c.evidence],
                "as_of": c.as_of,
                "changed_at": c.changed_at,
            }
            for c in changes
        ],
    )
    published = {c.pseudonym: c for c in sorted(changes, key=lambda c: c.version)}
    rows = [_certification_row(s, published.get(s.pseudonym)) for s in states]
    # bulk_update wants one shape per statement: with and without a new status.
    for shape in {tuple(r) for r in rows}:
        await bulk_update(
            session, certification, "pseudonym", [r for r in rows if tuple(r) == shape]
        )


def _certification_row(state: CertificationState, change: StateChange | None) -> dict[str, Any]:
    alive = state.last_alive
    row: dict[str, Any] = {
        "pseudonym": state.pseudonym,
        "alive_at": alive.at if alive else None,
        "alive_event_id": alive.event_id if alive else None,
        "alive_method": alive.method.value if alive else None,
        "alive_source": alive.source if alive else None,
        "unconfirmed_on": state.unconfirmed_on,
    }
    if change is None:
        return row  # the status stands; only the fold's parts may have moved
    return row | {
        "status": change.to_status.value,
        "rule": change.rule,
        "conflict": change.conflict,
        "hold_payment": change.hold_payment,
        "validity_start": change.validity_start,
        "validity_end": change.validity_end,
        "version": change.version,
        "changed_at": change.changed_at,
    }


async def explain(session: AsyncSession, pseudonym: str) -> dict[str, Any] | None:
    """Everything behind a pensioner's status: state, transitions, decided events."""
    state = (
        await session.execute(select(certification).where(certification.c.pseudonym == pseudonym))
    ).first()
    if state is None:
        return None
    transitions = await session.execute(
        select(transition).where(transition.c.pseudonym == pseudonym).order_by(transition.c.version)
    )
    events = await session.execute(
        select(matched_event)
        .where(matched_event.c.pseudonym == pseudonym)
        .order_by(matched_event.c.occurred_at)
    )
    losses = await session.execute(
        select(loss_evidence).where(loss_evidence.c.pseudonym == pseudonym)
    )
    decisions = await session.execute(
        select(scoring_decision.c.decision)
        .where(scoring_decision.c.pseudonym == pseudonym)
        .order_by(scoring_decision.c.as_of)
    )
    return {
        "state": dict(state._mapping),
        "scoring_decisions": [r.decision for r in decisions],
        "transitions": [dict(r._mapping) for r in transitions],
        "events": [dict(r._mapping) for r in events],
        "loss_evidence": [dict(r._mapping) for r in losses],
    }


async def open_reviews(
    session: AsyncSession, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Loss evidence waiting for a reviewer, oldest first, with how alike the department's
    name and the registry's are (ingest's score and reasons, R-7.3.3.2)."""
    rows = await session.execute(
        select(
            review.c.event_id,
            review.c.pseudonym,
            review.c.source,
            review.c.reason,
            review.c.created_at,
            review.c.event["person"]["id_masked"].astext.label("id_masked"),
            review.c.event["person"]["name_masked"].astext.label("name_masked"),
            review.c.event["name_check"].label("name_check"),
        )
        .where(review.c.resolved_at.is_(None))
        .order_by(review.c.created_at, review.c.event_id)
        .limit(limit)
        .offset(offset)
    )
    queue = []
    for r in rows:
        item = dict(r._mapping)
        check = item.pop("name_check") or {}
        item["name_similarity"] = check.get("similarity")
        item["name_reasons"] = check.get("reasons", [])
        queue.append(item)
    return queue


async def claim_decisions(
    session: AsyncSession, decisions: Sequence[ScoringDecision]
) -> set[uuid.UUID]:
    """Record scoring's decisions; return the ids seen for the first time (the inbox)."""
    rows = [
        {
            "decision_id": d.decision_id,
            "pseudonym": d.pseudonym,
            "as_of": d.as_of,
            "confirmed": d.confirmed,
            "alive_probability": d.alive_probability,
            "threshold": d.threshold,
            "model_version": d.model_version,
            "decision": d.model_dump(mode="json"),
        }
        for d in decisions
    ]
    claimed = await bulk_insert(
        session, scoring_decision, rows, on_conflict="nothing", returning=["decision_id"]
    )
    return {r["decision_id"] for r in claimed}
