"""Every SQL statement of the lists service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Subquery, func, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.certification import StateChange, Status
from lifesign.db import replace_on_conflict
from lifesign.events import PensionerRecord
from lifesign_lists.models import pensioner, person_status, status_history


async def apply_changes(session: AsyncSession, changes: Sequence[StateChange]) -> None:
    """Upsert by version: an older or repeated change never overwrites a newer one."""
    latest: dict[str, StateChange] = {}
    for change in changes:
        if change.pseudonym not in latest or change.version > latest[change.pseudonym].version:
            latest[change.pseudonym] = change
    values = [
        {
            "pseudonym": c.pseudonym,
            "status": c.to_status.value,
            "rule": c.rule,
            "conflict": c.conflict,
            "hold_payment": c.hold_payment,
            "validity_end": c.validity_end,
            "last_proof_of_life_at": c.last_proof_of_life_at,
            "last_proof_method": c.last_proof_method.value if c.last_proof_method else None,
            "benefit_region": c.benefit_region,
            "residence_region": c.residence_region,
            "version": c.version,
            "changed_at": c.changed_at,
        }
        for c in latest.values()
    ]
    if not values:
        return
    statement = replace_on_conflict(
        person_status, values, where=lambda new: new.version > person_status.c.version
    )
    await session.execute(statement, values)


async def record_history(session: AsyncSession, changes: Sequence[StateChange]) -> None:
    values = [
        {
            "pseudonym": c.pseudonym,
            "version": c.version,
            "status": c.to_status.value,
            "rule": c.rule,
            "as_of": c.as_of,
            "validity_end": c.validity_end,
            "benefit_region": c.benefit_region,
            "residence_region": c.residence_region,
        }
        for c in changes
    ]
    if values:
        await session.execute(insert(status_history).on_conflict_do_nothing(), values)


def _as_of(day: date, region: str | None) -> Subquery:
    """Each person's latest change dated on or before ``day`` (one set-based query)."""
    query = (
        select(status_history)
        .where(status_history.c.as_of <= day)
        .ext(distinct_on(status_history.c.pseudonym))
        .order_by(status_history.c.pseudonym, status_history.c.version.desc())
    )
    if region:
        query = query.where(status_history.c.benefit_region.startswith(region))
    return query.subquery()


async def people_on(
    session: AsyncSession,
    day: date,
    statuses: Sequence[Status],
    region: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    latest = _as_of(day, region)
    query = (
        select(latest)
        .where(latest.c.status.in_([s.value for s in statuses]))
        .order_by(latest.c.pseudonym)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r._mapping) for r in await session.execute(query)]


async def counts_on(session: AsyncSession, day: date, region: str | None) -> dict[str, int]:
    latest = _as_of(day, region)
    query = select(latest.c.status, func.count()).group_by(latest.c.status)
    return {status: int(n) for status, n in await session.execute(query)}


async def people(
    session: AsyncSession, statuses: Sequence[Status], region: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = (
        select(person_status)
        .where(person_status.c.status.in_([s.value for s in statuses]))
        .order_by(person_status.c.pseudonym)
        .limit(limit)
        .offset(offset)
    )
    if region:
        query = query.where(person_status.c.benefit_region.startswith(region))
    return [dict(r._mapping) for r in await session.execute(query)]


async def counts(session: AsyncSession, region: str | None) -> dict[str, int]:
    query = select(person_status.c.status, func.count()).group_by(person_status.c.status)
    if region:
        query = query.where(person_status.c.benefit_region.startswith(region))
    return {status: int(n) for status, n in await session.execute(query)}


async def upsert_pensioners(session: AsyncSession, records: Sequence[PensionerRecord]) -> None:
    """The latest registry record of each pensioner wins (the topic may replay old ones)."""
    latest: dict[str, PensionerRecord] = {}
    for record in records:
        known = latest.get(record.pseudonym)
        if known is None or record.updated_at >= known.updated_at:
            latest[record.pseudonym] = record
    values = [
        {
            "pseudonym": r.pseudonym,
            "person_id": r.person_id,
            "id_type": r.id_type,
            "id_masked": r.id_masked,
            "name_masked": r.name_masked,
            "insurance_type": r.insurance_type.value,
            "benefit_status": r.benefit_status.value,
            "retirement_date": r.retirement_date,
            "registration_region": r.registration_region,
            "residence_region": r.residence_region,
            "benefit_region": r.benefit_region,
            "updated_at": r.updated_at,
        }
        for r in latest.values()
    ]
    if values:
        statement = replace_on_conflict(
            pensioner, values, where=lambda new: new.updated_at >= pensioner.c.updated_at
        )
        await session.execute(statement, values)


async def push_candidates(
    session: AsyncSession, statuses: Sequence[Status], office: str
) -> list[dict[str, Any]]:
    """People in these statuses who live in the office's jurisdiction (R-7.6.1, R-4.6):
    by residence region, else household region, whoever pays their pension."""
    lives_in = func.coalesce(pensioner.c.residence_region, pensioner.c.registration_region)
    query = (
        select(
            person_status,
            pensioner.c.person_id,
            pensioner.c.id_type,
            pensioner.c.id_masked,
            pensioner.c.name_masked,
            pensioner.c.insurance_type,
            pensioner.c.benefit_status,
            pensioner.c.retirement_date,
            pensioner.c.registration_region,
            pensioner.c.residence_region.label("registry_residence_region"),
            lives_in.label("lives_in"),
        )
        .join(pensioner, pensioner.c.pseudonym == person_status.c.pseudonym)
        .where(person_status.c.status.in_([s.value for s in statuses]))
        .where(lives_in.startswith(office))
        .order_by(lives_in, pensioner.c.person_id)
    )
    return [dict(r._mapping) for r in await session.execute(query)]
