"""Every SQL statement of the notify service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign_notify.models import reminder


async def add_reminders(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(reminder).on_conflict_do_nothing(), rows)


async def reminders(session: AsyncSession, limit: int) -> list[dict[str, Any]]:
    query = select(reminder).order_by(reminder.c.created_at.desc()).limit(limit)
    return [dict(r._mapping) for r in await session.execute(query)]
