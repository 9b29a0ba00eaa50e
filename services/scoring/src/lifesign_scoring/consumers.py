"""The scoring service's Kafka handler: ``on_events_auxiliary``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.bus import Batch
from lifesign.events import AuxiliaryEvent
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
