"""What the benchmarks share: the broker's raw read rate (the ceiling printed beside each
throughput), a fresh database on the embedded PostgreSQL, and the CPU time of the
processes that are not the bench's own (PostgreSQL's server, the broker), from /proc."""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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


def machine_ticks() -> list[int]:
    """The whole machine's CPU time so far, by state (``/proc/stat``: user, nice, system,
    idle, iowait, irq, softirq, steal), in clock ticks."""
    return [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]


Timeline = list[tuple[float, list[int]]]  # (time.perf_counter(), machine_ticks())


def machine_shares(timeline: Timeline, first: float, last: float) -> dict[str, float]:
    """How the machine's CPUs spent ``first`` to ``last`` (``perf_counter`` times, which
    every process shares): the shares idle, waiting for I/O and stolen by the host. A rate
    that falls while the CPU per event stays the same was short of CPU or waiting, not
    slower code."""
    # The samples just before the first event and at the last one (the first and the
    # final sample when none is).
    before = max((t for t in timeline if t[0] < first), default=timeline[0])[1]
    after = max((t for t in timeline if t[0] <= last), default=timeline[-1])[1]
    delta = [a - b for a, b in zip(after, before, strict=True)]
    total = sum(delta) or 1
    return {"idle": delta[3] / total, "iowait": delta[4] / total, "steal": delta[7] / total}


# --- replicas in their own processes, started together ---------------------------------


def spawn_context() -> Any:
    """What replica processes share (``ready``, ``go``, ``done``, ``reports``) comes from
    this context: fresh interpreters, as deployed processes are."""
    return multiprocessing.get_context("spawn")


def run_replicas(
    processes: list[Any],
    shared: dict[str, Any],
    watch: dict[str, int],
    finished: Callable[[], bool],
    what: Callable[[], str],
) -> tuple[list[Any], dict[str, float], Timeline]:
    """Start ``processes``, let them go at once when all are ready (each releases
    ``shared["ready"]``, then waits for ``shared["go"]``), wait until ``finished()``, then
    set ``shared["done"]`` and collect one report from each (``shared["reports"]``).
    Returns the reports, the CPU seconds each ``watch``-ed process tree spent while the
    replicas ran and the machine's CPU time sampled every 50 ms (:func:`machine_shares`);
    ``what()`` says how far they got if they time out."""
    for process in processes:
        process.start()
    for _ in processes:
        if not shared["ready"].acquire(timeout=120):
            raise TimeoutError("a replica did not start")
    before = {name: tree_cpu(pid) for name, pid in watch.items()}
    timeline: Timeline = [(time.perf_counter(), machine_ticks())]
    shared["go"].set()
    deadline = time.perf_counter() + 900
    while not finished():
        now = time.perf_counter()
        if now > deadline:
            raise TimeoutError(what())
        if now - timeline[-1][0] >= 0.05:
            timeline.append((now, machine_ticks()))
        time.sleep(0.005)
    after = {name: tree_cpu(pid) for name, pid in watch.items()}
    timeline.append((time.perf_counter(), machine_ticks()))
    shared["done"].set()
    reports = [shared["reports"].get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    return reports, {name: spent(before[name], after[name]) for name in watch}, timeline


def shared_signals(context: Any) -> dict[str, Any]:
    """The signals :func:`run_replicas` expects in ``shared``."""
    return {
        "ready": context.Semaphore(0),
        "go": context.Event(),
        "done": context.Event(),
        "reports": context.Queue(),
    }
