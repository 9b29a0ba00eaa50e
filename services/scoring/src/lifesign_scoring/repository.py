"""Every SQL statement of the scoring service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign_scoring.models import behaviour
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
