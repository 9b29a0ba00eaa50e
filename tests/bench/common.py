"""What the benchmarks share: the broker's raw read rate (the ceiling printed beside each
throughput) and a fresh database on the embedded PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaConsumer
from sqlalchemy import make_url

from lifesign.db import sync_url


async def raw_rate(bootstrap: str, topics: Sequence[str], count: int) -> float:
    """Messages/s of a bare consumer reading ``count`` messages of ``topics`` from the
    start, fetching as the services' consumers do (8 MiB per partition)."""
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 << 20,
    )
    await consumer.start()
    try:
        seen, started = 0, time.perf_counter()
        while seen < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            seen += sum(len(r) for r in batches.values())
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def fresh_database(server_url: str) -> str:
    """A new, empty database on the same server; its URL."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(sync_url(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)
