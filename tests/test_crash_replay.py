"""A crash in the worst place, on a real broker and PostgreSQL (ARCHITECTURE principle 2).

The matcher commits a death record's effects and dies before it relays the outbox and
before the broker learns the offset (the moment it would commit offsets); the payments
bridge does the same with the state change. Each restarts in the same consumer group, so
the broker redelivers, and relays what its first life left in the outbox. Required:
exactly one LOST change on ``state.changes.v1`` and exactly one SUSPEND on
``payments.commands.v1`` (issue 5: "an event replayed after a crash").
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import topics
from lifesign.bus import BatchConsumer, Producer, encode, ensure_topics, json_decoder
from lifesign.certification import PaymentCommand, PaymentCommandKind, StateChange, Status
from lifesign.clock import FixedClock
from lifesign.events import (
    BenefitStatus,
    Channel,
    InsuranceType,
    LifeEvent,
    PensionerRecord,
    PersonRef,
    Provenance,
    event_id_for,
)
from lifesign.messaging import Inbox, Outbox
from lifesign.testing import migrated
from lifesign_matcher.consumers import (
    Certifier,
    RegistryHandler,
    ValidatedHandler,
    decode_head,
)
from lifesign_matcher.main import SPEC as MATCHER
from lifesign_matcher.models import messaging as matcher_messaging
from lifesign_payments_bridge.consumers import StateChangeHandler
from lifesign_payments_bridge.main import SPEC as BRIDGE
from lifesign_payments_bridge.models import messaging as bridge_messaging

NOW = datetime(2026, 12, 3, 2, tzinfo=UTC)


class Crash(BaseException):
    """The process dies: not an error the consumer loop could handle."""


class DiesBeforeOffsets(BatchConsumer[Any]):
    """A consumer whose process dies the moment it would commit a batch's offsets: after
    its transaction committed, before the broker learns the offsets."""

    async def _commit(self, records: Any) -> None:
        raise Crash


def pensioner(pseudonym: str) -> PensionerRecord:
    return PensionerRecord(
        pseudonym=pseudonym,
        name_digest="b" * 64,
        person_id="P-crash",
        id_masked="410102********0011",
        name_masked="王*",
        sex="M",
        birth_date=date(1940, 1, 1),
        insurance_type=InsuranceType.ENTERPRISE,
        benefit_status=BenefitStatus.NORMAL,
        benefit_start=date(2000, 2, 1),
        registration_region="410102",
        benefit_region="410102",
        last_certified_on=date(2026, 6, 1),
        updated_at=NOW - timedelta(days=30),
    )


def death(pseudonym: str) -> LifeEvent:
    return LifeEvent(
        event_id=event_id_for("funeral_cremation", f"FH-{pseudonym[:8]}"),
        source="funeral_cremation",
        person=PersonRef(pseudonym=pseudonym, name_digest="b" * 64, id_masked="x", name_masked="x"),
        occurred_at=NOW - timedelta(days=1),
        received_at=NOW,
        attributes={"death_date": "2026-12-01", "cremation_date": "2026-12-02"},
        provenance=Provenance(channel=Channel.KAFKA, source_record_id=f"FH-{pseudonym[:8]}"),
    )


async def run_until(consumer: BatchConsumer[Any], done: Callable[[], Awaitable[bool]]) -> None:
    task = asyncio.create_task(consumer.run())
    try:
        for _ in range(600):
            if task.done() or await done():
                break
            await asyncio.sleep(0.05)
    finally:
        consumer.stop()
        with contextlib.suppress(Crash):
            await task


async def messages(bootstrap: str, topic: str, key: str, model: type[BaseModel]) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[Any] = []
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            if not batches:
                return found
            for record in (r for part in batches.values() for r in part):
                if record.key == key.encode():
                    found.append(model.model_validate_json(record.value or b""))
    finally:
        await consumer.stop()


async def outbox_empty(sessions: async_sessionmaker[AsyncSession], table: Any) -> bool:
    async with sessions() as session:
        return (await session.scalar(select(func.count()).select_from(table))) == 0


async def test_a_crash_after_commit_gives_no_second_change_and_no_second_command(
    kafka_bootstrap: str, own_database: str, unique: str
) -> None:
    who = f"{uuid.uuid4().int:064x}"[-64:]
    validated = f"crash.validated.{unique}"
    await ensure_topics(
        kafka_bootstrap, [validated, topics.STATE_CHANGES, topics.PAYMENTS_COMMANDS]
    )
    producer = Producer(kafka_bootstrap)
    await producer.start()
    try:
        async with migrated(own_database, MATCHER) as m, migrated(own_database, BRIDGE) as b:
            outbox = Outbox(matcher_messaging.outbox)
            certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
            async with m.begin() as session:  # registered: one ELIGIBLE change waiting
                await RegistryHandler(certifier=certifier)(session, _batch(pensioner(who)))
            event = death(who)
            for _ in range(2):  # the department sent it twice, too
                await producer.publish(validated, event, key=who)

            def matcher(
                after_commit: Callable[[], Awaitable[None]] | None,
                kind: type[BatchConsumer[Any]] = BatchConsumer,
            ) -> BatchConsumer[Any]:
                return kind(
                    name=f"crash-matcher-{unique}",
                    topics=[validated],
                    bootstrap=kafka_bootstrap,
                    decode=decode_head,
                    handler=ValidatedHandler(certifier=certifier, outbox=outbox),
                    sessions=m,
                    producer=producer,
                    after_commit=after_commit,
                )

            async def relay() -> None:
                await outbox.relay(m, producer)

            first = matcher(None, DiesBeforeOffsets)  # nothing relayed in its life
            await run_until(first, lambda: _false())
            assert first.stats.handled == 2  # it handled and committed, then died
            second = matcher(relay)  # the restart: the same group, offsets never committed
            await run_until(second, lambda: _relayed(second, m, matcher_messaging.outbox))
            assert second.stats.received >= 1  # the death record came again

            changes = await messages(kafka_bootstrap, topics.STATE_CHANGES, who, StateChange)
            assert [(c.version, c.to_status) for c in changes] == [
                (1, Status.ELIGIBLE),
                (2, Status.LOST),
            ]

            bridge_outbox = Outbox(bridge_messaging.outbox)

            def bridge(
                after_commit: Callable[[], Awaitable[None]] | None,
                kind: type[BatchConsumer[Any]] = BatchConsumer,
            ) -> BatchConsumer[Any]:
                return kind(
                    name=f"crash-bridge-{unique}",
                    topics=[topics.STATE_CHANGES],
                    bootstrap=kafka_bootstrap,
                    decode=json_decoder(StateChange),
                    handler=StateChangeHandler(
                        inbox=Inbox(bridge_messaging.inbox, f"crash-bridge-{unique}"),
                        outbox=bridge_outbox,
                        clock=FixedClock(NOW),
                    ),
                    sessions=b,
                    producer=producer,
                    after_commit=after_commit,
                )

            async def bridge_relay() -> None:
                await bridge_outbox.relay(b, producer)

            first_bridge = bridge(None, DiesBeforeOffsets)
            await run_until(first_bridge, lambda: _false())
            assert first_bridge.stats.handled >= 2
            second_bridge = bridge(bridge_relay)
            await run_until(
                second_bridge, lambda: _relayed(second_bridge, b, bridge_messaging.outbox)
            )
            commands = await messages(
                kafka_bootstrap, topics.PAYMENTS_COMMANDS, who, PaymentCommand
            )
            assert [c.kind for c in commands] == [PaymentCommandKind.SUSPEND]
    finally:
        await producer.stop()


def _batch(value: Any) -> Any:
    from lifesign.bus import Batch, Envelope

    return Batch([Envelope(value, "t", 0, 0, None, [], 0, encode(value))])


async def _false() -> bool:
    return False


async def _relayed(
    consumer: BatchConsumer[Any], sessions: async_sessionmaker[AsyncSession], table: Any
) -> bool:
    return (
        consumer.stats.received > 0 and consumer.stats.idle and await outbox_empty(sessions, table)
    )
