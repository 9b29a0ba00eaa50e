"""The scoring service's Kafka handlers: auxiliary events, the registry, state changes."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.bus import Batch
from lifesign.certification import StateChange
from lifesign.events import AuxiliaryEvent, PensionerRecord
from lifesign.messaging import Inbox
from lifesign_scoring import repository
from lifesign_scoring.service import daily_counts


class AuxiliaryHandler:
    """Count behaviour per person, source and day; the inbox keeps counts exact."""

    def __init__(self, *, inbox: Inbox) -> None:
        self._inbox = inbox

    async def __call__(self, session: AsyncSession, batch: Batch[AuxiliaryEvent]) -> None:
        fresh = await self._inbox.claim(session, (str(i.value.event.event_id) for i in batch.items))
        events = []
        for item in batch.items:
            key = str(item.value.event.event_id)
            if key in fresh:
                fresh.discard(key)  # the same event twice in one batch counts once
                events.append(item.value.event)
        await repository.add_behaviour(session, daily_counts(events))


async def on_registry_pensioners(session: AsyncSession, batch: Batch[PensionerRecord]) -> None:
    """Base attributes of each pensioner (R-7.5.2.1); idempotent (latest record wins)."""
    await repository.upsert_pensioners(session, [i.value for i in batch.items])


async def on_state_changes(session: AsyncSession, batch: Batch[StateChange]) -> None:
    """Who is in the warning period, and past certification results (R-7.5.2.1)."""
    await repository.upsert_certification(session, [i.value for i in batch.items])
