"""The batch consumer loop against a real Tansu broker and a real PostgreSQL.

Definition of done: malformed events go to the dead-letter topic with the reason, the
consumer neither crashes nor stalls on them, and the counts balance.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifesign.bus import (
    GC_THRESHOLDS,
    Batch,
    BatchConsumer,
    DeadLetter,
    Handler,
    Producer,
    ensure_topics,
    json_decoder,
    murmur2,
    murmur2_many,
    settle_garbage_collector,
)
from lifesign.db import bulk_insert, fetch, make_engine, make_sessions

POISON = 13


class Item(BaseModel):
    n: int


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[Producer]:
    producer = Producer(kafka_bootstrap)
    await producer.start()
    yield producer
    await producer.stop()


def item_consumer(
    name: str,
    topics: list[str],
    bootstrap: str,
    engine: AsyncEngine,
    producer: Producer,
    handler: Handler[Item],
    **options: Any,
) -> BatchConsumer[Item]:
    """A consumer of ``Item`` messages on the test's database and producer."""
    return BatchConsumer(
        name=name,
        topics=topics,
        bootstrap=bootstrap,
        decode=json_decoder(Item),
        handler=handler,
        sessions=make_sessions(engine),
        producer=producer,
        **options,
    )


async def read_all(bootstrap: str, topic: str, count: int, timeout: float = 20) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: list[bytes] = []
    try:
        async with asyncio.timeout(timeout):
            while len(found) < count:
                batches = await consumer.getmany(timeout_ms=200)
                found += [r.value or b"" for records in batches.values() for r in records]
    finally:
        await consumer.stop()
    return found


async def wait_for(predicate: object, seconds: float = 30) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def test_bad_messages_are_dead_lettered_with_reasons_and_counts_balance(
    kafka_bootstrap: str, engine: AsyncEngine, producer: Producer, unique: str
) -> None:
    topic, dlq, table = f"test.items.{unique}", f"test.dlq.{unique}", f"items_{unique}"
    await ensure_topics(kafka_bootstrap, [topic, dlq], partitions=1)
    async with engine.begin() as connection:
        await connection.execute(text(f"CREATE TABLE {table} (n int PRIMARY KEY)"))

    async def handler(session: AsyncSession, batch: Batch[Item]) -> None:
        for item in batch.items:
            await session.execute(text(f"INSERT INTO {table} VALUES (:n)"), {"n": item.value.n})
        if any(item.value.n == POISON for item in batch.items):
            raise ValueError("unlucky number")  # a data error: the batch rolls back

    consumer = item_consumer(
        f"test-{unique}",
        [topic],
        kafka_bootstrap,
        engine,
        producer,
        handler,
        dead_letter_topic=dlq,
    )
    messages = [
        *(json.dumps({"n": n}).encode() for n in (1, 2, 3)),
        b'{"n": ',  # malformed JSON
        json.dumps({"n": "three"}).encode(),  # valid JSON, wrong shape
        json.dumps({"n": POISON}).encode(),  # decodes, but the handler cannot take it
        *(json.dumps({"n": n}).encode() for n in (4, 5)),
    ]
    for value in messages:
        await (
            await producer.send(
                topic,
                value,
                headers=[("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")],
            )
        )
    task = asyncio.create_task(consumer.run())
    try:
        await wait_for(lambda: consumer.stats.received == len(messages))
    finally:
        consumer.stop()
        await task

    letters = [DeadLetter.model_validate_json(v) for v in await read_all(kafka_bootstrap, dlq, 3)]
    reasons = sorted(letter.reason for letter in letters)
    assert len(letters) == 3
    assert any("Invalid JSON" in r or "malformed JSON" in r for r in reasons)
    assert any(r.startswith("n:") and "integer" in r for r in reasons)
    assert any("unlucky number" in r for r in reasons)
    assert {letter.offset for letter in letters} == {3, 4, 5}
    assert all(letter.headers.get("traceparent") for letter in letters)

    async with engine.connect() as connection:
        stored = (await connection.execute(text(f"SELECT n FROM {table} ORDER BY n"))).scalars()
        assert list(stored) == [1, 2, 3, 4, 5]  # the poison's batch-mates were not lost
    stats = consumer.stats
    assert stats.received == stats.handled + stats.dead_lettered == 8
    assert stats.dead_lettered == 3


async def test_offsets_are_committed_after_the_batch(
    kafka_bootstrap: str, engine: AsyncEngine, producer: Producer, unique: str
) -> None:
    topic = f"test.commit.{unique}"
    await ensure_topics(kafka_bootstrap, [topic], partitions=2)
    seen: list[int] = []

    async def handler(session: AsyncSession, batch: Batch[Item]) -> None:
        seen.extend(item.value.n for item in batch.items)

    def make() -> BatchConsumer[Item]:
        return item_consumer(
            f"test-commit-{unique}",
            [topic],
            kafka_bootstrap,
            engine,
            producer,
            handler,
        )

    for n in range(10):
        await (await producer.send(topic, json.dumps({"n": n}).encode(), key=str(n)))
    first = make()
    task = asyncio.create_task(first.run())
    await wait_for(lambda: first.stats.received == 10)
    first.stop()
    await task

    # The same group again: nothing is delivered twice, the new message once.
    await (await producer.send(topic, json.dumps({"n": 10}).encode(), key="10"))
    second = make()
    task = asyncio.create_task(second.run())
    await wait_for(lambda: second.stats.received >= 1)
    await asyncio.sleep(0.5)
    second.stop()
    await task
    assert sorted(seen) == list(range(11))


@given(st.binary(max_size=100))
def test_fast_murmur2_partitions_keys_exactly_as_aiokafka_does(key: bytes) -> None:
    # A key must keep its partition whichever producer (or version of ours) sent it.
    assert murmur2(key) == aiokafka_murmur2(key)


@given(st.lists(st.binary(max_size=70), max_size=40))
def test_many_keys_hash_at_once_as_one_by_one(keys: list[bytes]) -> None:
    assert murmur2_many(keys) == [murmur2(k) for k in keys]


def test_pseudonym_keys_hash_at_once_as_aiokafka_does() -> None:
    keys = [f"{i:064x}".encode() for i in range(500)]
    assert murmur2_many(keys) == [aiokafka_murmur2(k) for k in keys]


async def test_a_pattern_subscription_reads_a_topic_created_after_it_started(
    kafka_bootstrap: str, engine: AsyncEngine, producer: Producer, unique: str
) -> None:
    """Ingest reads every ``feed.*.v1`` topic: a department's topic for a source lifesign
    does not know is read (and its records dead-lettered), not left unread."""
    await ensure_topics(kafka_bootstrap, [f"pattern.{unique}.first"])
    seen: list[str] = []

    async def handler(session: AsyncSession, batch: Batch[Item]) -> None:
        seen.extend(item.topic for item in batch.items)

    consumer = item_consumer(
        f"test-pattern-{unique}",
        [],
        kafka_bootstrap,
        engine,
        producer,
        handler,
        pattern=rf"^pattern\.{unique}\..+$",
    )
    task = asyncio.create_task(consumer.run())
    try:
        await (await producer.send(f"pattern.{unique}.first", b'{"n": 1}', key="1"))
        await wait_for(lambda: len(seen) == 1)
        later = f"pattern.{unique}.later"
        await ensure_topics(kafka_bootstrap, [later])
        await (await producer.send(later, b'{"n": 2}', key="2"))
        await wait_for(lambda: len(seen) == 2, seconds=90)
    finally:
        consumer.stop()
        await task
    assert seen == [f"pattern.{unique}.first", f"pattern.{unique}.later"]


def test_the_collector_is_settled_for_batches() -> None:
    import gc

    before = gc.get_threshold()
    try:
        settle_garbage_collector()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0  # what exists at start-up is out of its sight
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_a_commit_refused_by_a_rebalance_leaves_the_batch_to_redelivery(
    kafka_bootstrap: str, engine: AsyncEngine, producer: Producer, unique: str
) -> None:
    # A second replica joins while the first is handling a batch: the group rebalances and
    # refuses the first one's commit. The first must go on consuming (it used to stop for
    # good, which stalled the demo's ingest), and every message is handled at least once.
    topic = f"test.rebalance.{unique}"
    await ensure_topics(kafka_bootstrap, [topic], partitions=2)
    seen: list[int] = []
    joined = asyncio.Event()

    async def handler(session: AsyncSession, batch: Batch[Item]) -> None:
        seen.extend(item.value.n for item in batch.items)
        if not joined.is_set():  # the first batch waits until the group has rebalanced
            joined.set()
            await wait_for(lambda: bool(second._consumer.assignment()))

    def make() -> BatchConsumer[Item]:
        return item_consumer(
            f"test-rebalance-{unique}",
            [topic],
            kafka_bootstrap,
            engine,
            producer,
            handler,
        )

    for n in range(20):
        await (await producer.send(topic, json.dumps({"n": n}).encode(), key=str(n)))
    first, second = make(), make()
    tasks = [asyncio.create_task(first.run())]
    await joined.wait()
    tasks.append(asyncio.create_task(second.run()))
    await wait_for(lambda: first.stats.commit_failures == 1)
    for n in range(20, 40):
        await (await producer.send(topic, json.dumps({"n": n}).encode(), key=str(n)))
    await wait_for(lambda: set(range(40)) <= set(seen))

    assert not tasks[0].done(), "the first replica stopped"
    assert "commit refused" in (first.stats.last_error or "")
    first.stop()
    second.stop()
    await asyncio.gather(*tasks)


async def test_a_database_connection_lost_mid_batch_is_retried_not_dead_lettered(
    kafka_bootstrap: str, engine: AsyncEngine, producer: Producer, unique: str
) -> None:
    """The set-based statements run on the session's asyncpg connection (lifesign.db), so
    the driver's own errors for a lost connection must count as the database being away:
    the batch is tried again, nothing is dead-lettered, nothing is written twice."""
    topic, dlq, table = f"test.lost.{unique}", f"test.lost.dlq.{unique}", f"lost_{unique}"
    await ensure_topics(kafka_bootstrap, [topic, dlq], partitions=1)
    metadata = MetaData()
    rows = Table(table, metadata, Column("n", Integer, primary_key=True))
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    killed: list[int] = []

    async def handler(session: AsyncSession, batch: Batch[Item]) -> None:
        if not killed:  # the first attempt loses its connection before it writes
            pid = (await fetch(session, "SELECT pg_backend_pid() AS pid"))[0]["pid"]
            async with engine.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            killed.append(pid)
        await bulk_insert(session, rows, [{"n": i.value.n} for i in batch.items])

    consumer = item_consumer(
        f"test-lost-{unique}",
        [topic],
        kafka_bootstrap,
        engine,
        producer,
        handler,
        dead_letter_topic=dlq,
    )
    for n in range(5):
        await (await producer.send(topic, json.dumps({"n": n}).encode()))
    task = asyncio.create_task(consumer.run())
    try:
        await wait_for(lambda: consumer.stats.received == 5)
    finally:
        consumer.stop()
        await task
    async with engine.connect() as connection:
        stored = (await connection.execute(text(f"SELECT n FROM {table} ORDER BY n"))).scalars()
        assert list(stored) == [0, 1, 2, 3, 4]
    assert killed
    assert consumer.stats.retries >= 1, consumer.stats.last_error
    assert consumer.stats.dead_lettered == 0 and consumer.stats.handled == 5
