"""Every SQL statement of the scoring service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.certification import StateChange, Status
from lifesign.events import PensionerRecord
from lifesign_scoring.models import (
    behaviour,
    certification,
    decision,
    model_version,
    pensioner,
)
from lifesign_scoring.service import Key


async def add_behaviour(session: AsyncSession, counts: dict[Key, tuple[int, datetime]]) -> None:
    values = [
        {"pseudonym": p, "source": s, "day": d, "events": n, "last_at": at}
        for (p, s, d), (n, at) in sorted(counts.items())
    ]
    if not values:
        return
    statement = insert(behaviour)
    statement = statement.on_conflict_do_update(
        index_elements=[behaviour.c.pseudonym, behaviour.c.source, behaviour.c.day],
        set_={
            "events": behaviour.c.events + statement.excluded.events,
            "last_at": func.greatest(behaviour.c.last_at, statement.excluded.last_at),
        },
    )
    await session.execute(statement, values)


async def trail(session: AsyncSession, pseudonym: str) -> list[dict[str, Any]]:
    query = (
        select(behaviour)
        .where(behaviour.c.pseudonym == pseudonym)
        .order_by(behaviour.c.day, behaviour.c.source)
    )
    return [dict(r._mapping) for r in await session.execute(query)]


async def upsert_pensioners(session: AsyncSession, records: list[PensionerRecord]) -> None:
    """The latest registry record of each pensioner wins (the topic is compacted)."""
    latest: dict[str, PensionerRecord] = {}
    for r in records:
        if r.pseudonym not in latest or r.updated_at >= latest[r.pseudonym].updated_at:
            latest[r.pseudonym] = r
    if not latest:
        return
    statement = insert(pensioner)
    columns = ("sex", "birth_date", "insurance_type", "benefit_status", "residence_region")
    statement = statement.on_conflict_do_update(
        index_elements=[pensioner.c.pseudonym],
        set_={c: statement.excluded[c] for c in (*columns, "updated_at")},
        where=pensioner.c.updated_at <= statement.excluded.updated_at,
    )
    await session.execute(
        statement,
        [
            {
                "pseudonym": r.pseudonym,
                "sex": r.sex,
                "birth_date": r.birth_date,
                "insurance_type": r.insurance_type.value,
                "benefit_status": r.benefit_status.value,
                "residence_region": r.residence_region or r.registration_region,
                "updated_at": r.updated_at,
            }
            for _, r in sorted(latest.items())
        ],
    )


async def upsert_certification(session: AsyncSession, changes: list[StateChange]) -> None:
    """The matcher's latest state per pensioner (a higher version wins, so redelivery and
    order do not matter)."""
    latest: dict[str, StateChange] = {}
    for c in changes:
        if c.pseudonym not in latest or c.version > latest[c.pseudonym].version:
            latest[c.pseudonym] = c
    if not latest:
        return
    statement = insert(certification)
    statement = statement.on_conflict_do_update(
        index_elements=[certification.c.pseudonym],
        set_={
            c: statement.excluded[c]
            for c in ("version", "status", "validity_end", "last_proof_at", "last_method", "as_of")
        },
        where=certification.c.version < statement.excluded.version,
    )
    await session.execute(
        statement,
        [
            {
                "pseudonym": c.pseudonym,
                "version": c.version,
                "status": c.to_status.value,
                "validity_end": c.validity_end,
                "last_proof_at": c.last_proof_of_life_at,
                "last_method": c.last_proof_method.value if c.last_proof_method else None,
                "as_of": c.as_of,
            }
            for _, c in sorted(latest.items())
        ],
    )


async def due_for_decision(
    session: AsyncSession, day: date, limit: int, after: str | None = None
) -> list[Any]:
    """Pensioners in the warning period on ``day`` not yet decided for this period
    (R-7.5.2.3), with their base information and last proof of life; a page in pseudonym
    order, after ``after``."""
    decided = exists().where(
        (decision.c.pseudonym == certification.c.pseudonym)
        & (decision.c.validity_end == certification.c.validity_end)
    )
    query = (
        select(
            certification.c.pseudonym,
            certification.c.validity_end,
            certification.c.last_proof_at,
            certification.c.last_method,
            pensioner.c.sex,
            pensioner.c.birth_date,
            pensioner.c.insurance_type,
            pensioner.c.benefit_status,
        )
        .join(pensioner, pensioner.c.pseudonym == certification.c.pseudonym)
        .where(
            certification.c.status == Status.WARNING.value,
            certification.c.validity_end.is_not(None),
            certification.c.as_of <= day,
            ~decided,
            certification.c.pseudonym > (after or ""),
        )
        .order_by(certification.c.pseudonym)
        .limit(limit)
    )
    return list((await session.execute(query)).all())


async def behaviour_of(
    session: AsyncSession, pseudonyms: list[str], since: date, through: date
) -> list[Any]:
    query = select(
        behaviour.c.pseudonym,
        behaviour.c.source,
        behaviour.c.day,
        behaviour.c.events,
        behaviour.c.last_at,
    ).where(
        behaviour.c.pseudonym.in_(pseudonyms), behaviour.c.day >= since, behaviour.c.day <= through
    )
    return list((await session.execute(query)).all())


async def history_start(session: AsyncSession) -> date | None:
    """The first day of the behaviour trail: windows before it are only partly observed."""
    first: date | None = await session.scalar(select(func.min(behaviour.c.day)))
    return first


async def add_decisions(session: AsyncSession, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Record decisions; return the ids that are new (a re-run adds none)."""
    if not rows:
        return set()
    statement = insert(decision).on_conflict_do_nothing().returning(decision.c.decision_id)
    result = await session.execute(statement.values(rows))
    return set(result.scalars())


async def decisions_of(session: AsyncSession, pseudonym: str) -> list[dict[str, Any]]:
    query = select(decision).where(decision.c.pseudonym == pseudonym).order_by(decision.c.as_of)
    return [dict(r._mapping) for r in await session.execute(query)]


# --- the model registry (R-8.2.4) -------------------------------------------------------


async def register_model(session: AsyncSession, row: dict[str, Any]) -> bool:
    statement = insert(model_version).on_conflict_do_nothing().returning(model_version.c.version)
    return (await session.execute(statement.values(row))).first() is not None


async def list_models(session: AsyncSession) -> list[dict[str, Any]]:
    columns = [c for c in model_version.c if c.name != "artifact"]
    query = select(*columns).order_by(model_version.c.registered_at)
    return [dict(r._mapping) for r in await session.execute(query)]


async def champion(session: AsyncSession) -> tuple[str, bytes] | None:
    row = (
        await session.execute(
            select(model_version.c.version, model_version.c.artifact).where(
                model_version.c.role == "champion"
            )
        )
    ).first()
    return (row.version, row.artifact) if row else None


async def artifact(session: AsyncSession, version: str) -> bytes | None:
    blob: bytes | None = await session.scalar(
        select(model_version.c.artifact).where(model_version.c.version == version)
    )
    return blob


async def promote(session: AsyncSession, version: str, by: str, at: datetime) -> bool:
    """Make ``version`` the champion; the former champion is retired."""
    exists_ = await session.scalar(
        select(model_version.c.version).where(model_version.c.version == version).with_for_update()
    )
    if exists_ is None:
        return False
    await session.execute(
        update(model_version)
        .where(model_version.c.role == "champion", model_version.c.version != version)
        .values(role="retired")
    )
    await session.execute(
        update(model_version)
        .where(model_version.c.version == version)
        .values(role="champion", promoted_by=by, promoted_at=at)
    )
    return True


async def previous_champion(session: AsyncSession) -> str | None:
    """The version promoted before the current champion (what a rollback restores)."""
    query = (
        select(model_version.c.version)
        .where(model_version.c.role == "retired", model_version.c.promoted_at.is_not(None))
        .order_by(model_version.c.promoted_at.desc())
        .limit(1)
    )
    version: str | None = await session.scalar(query)
    return version
