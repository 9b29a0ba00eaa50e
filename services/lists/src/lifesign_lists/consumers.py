"""The lists service's Kafka handler: ``on_state_change``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.bus import Batch
from lifesign.certification import StateChange
from lifesign.events import PensionerRecord
from lifesign_lists import repository


async def on_state_change(session: AsyncSession, batch: Batch[StateChange]) -> None:
    changes = [item.value for item in batch.items]
    await repository.apply_changes(session, changes)
    await repository.record_history(session, changes)


async def on_registry_pensioner(session: AsyncSession, batch: Batch[PensionerRecord]) -> None:
    await repository.upsert_pensioners(session, [item.value for item in batch.items])
