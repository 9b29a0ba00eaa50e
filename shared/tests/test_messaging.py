"""The inbox and the outbox against a real PostgreSQL and a real broker (principle 2)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from lifesign.bus import OutMessage, Producer, ensure_topics
from lifesign.db import make_engine, make_sessions
from lifesign.messaging import Inbox, Outbox, messaging_tables


@pytest.fixture
async def engine(database_url: str, unique: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


async def make_tables(engine: AsyncEngine, schema: str) -> tuple[Inbox, Outbox]:
    metadata = MetaData(schema=schema)
    tables = messaging_tables(metadata)
    async with engine.begin() as connection:
        await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        await connection.run_sync(metadata.create_all)
    return Inbox(tables.inbox, "test-consumer"), Outbox(tables.outbox)


async def test_inbox_claims_each_message_id_once(engine: AsyncEngine, unique: str) -> None:
    inbox, _ = await make_tables(engine, f"inbox_{unique}")
    sessions = make_sessions(engine)
    async with sessions.begin() as session:
        assert await inbox.claim(session, ["a", "b", "b"]) == {"a", "b"}
    async with sessions.begin() as session:
        assert await inbox.claim(session, ["b", "c"]) == {"c"}
    # A rolled-back claim is no claim: the message is handled when it comes again.
    async with sessions() as session, session.begin():
        assert await inbox.claim(session, ["d"]) == {"d"}
        await session.rollback()
    async with sessions.begin() as session:
        assert await inbox.claim(session, ["d"]) == {"d"}


async def test_outbox_publishes_in_order_after_commit_and_empties(
    engine: AsyncEngine, kafka_bootstrap: str, unique: str
) -> None:
    _, outbox = await make_tables(engine, f"outbox_{unique}")
    topic = f"test.outbox.{unique}"
    await ensure_topics(kafka_bootstrap, [topic], partitions=1)
    sessions = make_sessions(engine)
    producer = Producer(kafka_bootstrap)
    await producer.start()
    try:
        async with sessions.begin() as session:
            await outbox.add(
                session,
                [
                    OutMessage(topic, f"m{i}".encode(), "k", [("traceparent", b"x")])
                    for i in range(5)
                ],
            )
        async with sessions() as session, session.begin():
            await outbox.add(session, [OutMessage(topic, b"rolled-back")])
            await session.rollback()
        assert await outbox.relay(sessions, producer) == 5
        assert await outbox.relay(sessions, producer) == 0
        async with sessions() as session:
            assert await outbox.pending(session) == 0
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=5000)
        records = [r for part in batches.values() for r in part]
    finally:
        await consumer.stop()
    assert [r.value for r in records] == [f"m{i}".encode() for i in range(5)]
    assert all(r.key == b"k" and ("traceparent", b"x") in r.headers for r in records)
