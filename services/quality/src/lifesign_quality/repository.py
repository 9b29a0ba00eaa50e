"""Every SQL statement of the quality service."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.bus import Envelope
from lifesign.events import LifeEvent
from lifesign_quality.models import finding, quality_count, seen_event

Coordinates = tuple[str, int, int]


async def first_sightings(
    session: AsyncSession, items: Sequence[Envelope[LifeEvent]]
) -> dict[uuid.UUID, Coordinates]:
    """Record where each event id was first seen; return the coordinates on record."""
    if not items:
        return {}
    rows = [
        {
            "event_id": i.value.event_id,
            "topic": i.topic,
            "partition": i.partition,
            "offset": i.offset,
        }
        for i in items
    ]
    await session.execute(insert(seen_event).on_conflict_do_nothing(), rows)
    found = await session.execute(
        select(
            seen_event.c.event_id, seen_event.c.topic, seen_event.c.partition, seen_event.c.offset
        ).where(seen_event.c.event_id.in_([r["event_id"] for r in rows]))
    )
    return {r.event_id: (r.topic, r.partition, r.offset) for r in found}


async def add_counts(session: AsyncSession, counts: dict[tuple[str, date], Counter[str]]) -> None:
    """Add to the per (source, day of arrival) counts."""
    rows = [
        {
            "source": source,
            "day": day,
            "received": c["received"],
            "accepted": c["accepted"],
            "warned": c["warned"],
            "quarantined": c["quarantined"],
            "duplicates": c["duplicates"],
        }
        for (source, day), c in sorted(counts.items())
    ]
    if not rows:
        return
    statement = insert(quality_count)
    statement = statement.on_conflict_do_update(
        index_elements=[quality_count.c.source, quality_count.c.day],
        set_={
            name: quality_count.c[name] + statement.excluded[name]
            for name in ("received", "accepted", "warned", "quarantined", "duplicates")
        },
    )
    await session.execute(statement, rows)


async def record_findings(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(finding).on_conflict_do_nothing(), rows)


async def counts(session: AsyncSession) -> list[dict[str, Any]]:
    result = await session.execute(
        select(quality_count).order_by(quality_count.c.day, quality_count.c.source)
    )
    return [dict(r._mapping) for r in result]


async def findings_for(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> list[dict[str, Any]]:
    result = await session.execute(
        select(finding.c.event_id, finding.c.rule_id, finding.c.severity, finding.c.message).where(
            finding.c.event_id.in_(event_ids)
        )
    )
    return [dict(r._mapping) for r in result]
