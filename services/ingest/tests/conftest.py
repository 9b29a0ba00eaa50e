"""Fixtures of ingest's tests: a migrated database of the test's own, a producer on the
session's broker, and a reader of what ingest published (real parts, nothing mocked)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import topics
from lifesign.bus import Producer, ensure_topics
from lifesign.testing import migrated
from lifesign_ingest.main import SPEC

ReadTopic = Callable[[str, int], Awaitable[list[bytes]]]


@pytest.fixture
async def ingest_sessions(own_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(own_database, SPEC) as sessions:
        yield sessions


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[Producer]:
    await ensure_topics(kafka_bootstrap, [topics.EVENTS_NORMALIZED, topics.EVENTS_REJECTED])
    started = Producer(kafka_bootstrap, client_id="test-ingest")
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture
def read_topic(kafka_bootstrap: str) -> ReadTopic:
    """``await read_topic(topic, polls)``: every message value on the topic so far."""

    async def read(topic: str, polls: int = 10) -> list[bytes]:
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=kafka_bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        await consumer.start()
        values: list[bytes] = []
        try:
            for _ in range(polls):
                batches = await consumer.getmany(timeout_ms=200)
                values += [r.value or b"" for part in batches.values() for r in part]
        finally:
            await consumer.stop()
        return values

    return read
