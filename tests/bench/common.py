"""What the benchmarks share: the broker's raw read rate (the ceiling printed beside each
throughput), a fresh database on the embedded PostgreSQL, and the CPU time of the
processes that are not the bench's own (PostgreSQL's server, the broker), from /proc."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

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


# --- CPU of the processes that are not ours: PostgreSQL's server and the broker ----------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _tree(root: int) -> list[int]:
    """``root`` and its descendants (PostgreSQL's backends are the postmaster's children)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, ()))
    return found


def postmaster_of(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of each live process of the tree (backends come and go: keep them all)."""
    return {pid: cpu_seconds(pid) for pid in _tree(root)}


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
