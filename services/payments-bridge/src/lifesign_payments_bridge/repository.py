"""Every SQL statement of the payments bridge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.certification import PaymentCommand
from lifesign.db import replace_on_conflict
from lifesign_payments_bridge.models import command, payment_state
from lifesign_payments_bridge.service import PaymentState


async def load(session: AsyncSession, pseudonyms: Sequence[str]) -> dict[str, PaymentState]:
    rows = await session.execute(
        select(payment_state)
        .where(payment_state.c.pseudonym.in_(sorted(set(pseudonyms))))
        .order_by(payment_state.c.pseudonym)
        .with_for_update()
    )
    return {
        r.pseudonym: PaymentState(
            r.suspended, r.suspended_since, r.suspension_rule, r.last_version, r.prison_served
        )
        for r in rows
    }


async def save(session: AsyncSession, states: dict[str, PaymentState]) -> None:
    values = [
        {
            "pseudonym": who,
            "suspended": s.suspended,
            "suspended_since": s.suspended_since,
            "suspension_rule": s.suspension_rule,
            "last_version": s.last_version,
            "prison_served": s.prison_served,
        }
        for who, s in states.items()
    ]
    if not values:
        return
    await session.execute(replace_on_conflict(payment_state, values), values)


async def record_commands(session: AsyncSession, commands: Sequence[PaymentCommand]) -> None:
    if commands:
        await session.execute(
            insert(command).on_conflict_do_nothing(),
            [
                {
                    "command_id": c.command_id,
                    "pseudonym": c.pseudonym,
                    "kind": c.kind.value,
                    "effective_date": c.effective_date,
                    "arrears_from": c.arrears_from,
                    "reason": c.reason,
                    "cause_change_id": c.cause_change_id,
                    "issued_at": c.issued_at,
                    "payload": c.model_dump(mode="json"),
                }
                for c in commands
            ],
        )


async def commands_for(
    session: AsyncSession, pseudonym: str | None, limit: int
) -> list[dict[str, Any]]:
    query = select(command.c.payload).order_by(command.c.issued_at.desc()).limit(limit)
    if pseudonym:
        query = query.where(command.c.pseudonym == pseudonym)
    return [r.payload for r in await session.execute(query)]
