"""The notify service's Kafka handler: ``on_state_change``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.bus import Batch
from lifesign.certification import StateChange
from lifesign.events import deterministic_id
from lifesign_notify import repository
from lifesign_notify.service import reminder_for

#: Until an SMS gateway is configured (a later issue), reminders wait in this state.
QUEUED = "queued"


async def on_state_change(session: AsyncSession, batch: Batch[StateChange]) -> None:
    rows: list[dict[str, Any]] = []
    for item in batch.items:
        change = item.value
        kind = reminder_for(change)
        if kind is None:
            continue
        rows.append(
            {
                # One reminder per change and kind, however often the change is delivered.
                "reminder_id": deterministic_id("reminder", str(change.change_id), kind.value),
                "pseudonym": change.pseudonym,
                "kind": kind.value,
                "validity_end": change.validity_end,
                "cause_change_id": change.change_id,
                "state": QUEUED,
            }
        )
    await repository.add_reminders(session, rows)
