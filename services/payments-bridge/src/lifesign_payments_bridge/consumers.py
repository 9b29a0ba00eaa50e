"""The payments bridge's Kafka handler: ``on_state_change``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign import topics
from lifesign.bus import Batch, OutMessage
from lifesign.certification import PaymentCommand, StateChange
from lifesign.clock import Clock
from lifesign.messaging import Inbox, Outbox
from lifesign_payments_bridge import repository
from lifesign_payments_bridge.service import NEW, decide


class StateChangeHandler:
    """Turn state changes into SUSPEND / RESTORE commands, exactly once each."""

    def __init__(self, *, inbox: Inbox, outbox: Outbox, clock: Clock) -> None:
        self._inbox = inbox
        self._outbox = outbox
        self._clock = clock

    async def __call__(self, session: AsyncSession, batch: Batch[StateChange]) -> None:
        fresh_ids = await self._inbox.claim(session, (str(i.value.change_id) for i in batch.items))
        fresh = [i for i in batch.items if str(i.value.change_id) in fresh_ids]
        fresh.sort(key=lambda i: (i.value.pseudonym, i.value.version))
        states = await repository.load(session, [i.value.pseudonym for i in fresh])
        commands: list[PaymentCommand] = []
        messages: list[OutMessage] = []
        now = self._clock.now()
        for item in fresh:
            change = item.value
            state, command = decide(change, states.get(change.pseudonym, NEW), now=now)
            states[change.pseudonym] = state
            if command is not None:
                commands.append(command)
                messages.append(
                    OutMessage.of(
                        topics.PAYMENTS_COMMANDS,
                        command,
                        key=command.pseudonym,
                        headers=item.trace_headers,
                    )
                )
        await repository.save(session, states)
        await repository.record_commands(session, commands)
        await self._outbox.add(session, messages)
