"""``make bench`` (matcher): validated events through the matcher, end to end through the
broker and PostgreSQL, against the broker's raw read of the same messages (issue 5's
target: 30,000 events/s).

Two workloads, each on a fresh database with 100,000 registered pensioners:

* ``mix``: the simulated province's share of validated events (22% direct proof of life,
  78% auxiliary, measured on ``lifesign simulate``): auxiliary events go straight on to
  scoring; every direct one is matched, claimed, folded and moves a validity window.
* ``direct``: the worst case, every event a proof of life for a different person, so
  each one locks a state, writes a transition and publishes a state change.

The consumer runs the matcher's real handler with ``after_commit`` relaying the outbox to
the broker, as the service does; the rate counts from the first to the last event.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import (  # the sibling module (benches run as scripts)
    fresh_database,
    machine_shares,
    postmaster_of,
    raw_rate,
    run_replicas,
    shared_signals,
    spawn_context,
)
from sqlalchemy import text

from lifesign.bus import BatchConsumer, OutMessage, Producer, encode, ensure_topics
from lifesign.clock import FixedClock
from lifesign.db import make_engine, make_sessions, upgrade
from lifesign.events import Channel, EventHead, LifeEvent, PersonRef, Provenance, event_id_for
from lifesign.messaging import Outbox
from lifesign.runtime import EmbeddedBroker, embedded_postgres
from lifesign_matcher.consumers import Certifier, ValidatedHandler, decode_head
from lifesign_matcher.main import SPEC
from lifesign_matcher.models import messaging

NOW = datetime(2026, 12, 3, tzinfo=UTC)
REGISTER = """
INSERT INTO matcher.pensioner
SELECT lpad(to_hex(n), 64, '0'), repeat('b', 64), 'P' || n, date '2001-04-01',
       date '2026-01-01', '410102', '410102', '{}'::jsonb, now()
FROM generate_series(1, :n) AS n
"""
# As the registry handler does: every registered pensioner has a certification row.
CERTIFICATION_ROWS = (
    "INSERT INTO matcher.certification (pseudonym) SELECT pseudonym FROM matcher.pensioner"
)
DIRECT_SHARE = {"mix": 0.22, "direct": 1.0}
MIN_EVENTS = 20_000  # ten full batches
AUXILIARY = ("transit_trip", "social_security_card_transaction", "outpatient_settlement")


def event(i: int, source: str = "bank_card_password_change") -> LifeEvent:
    return LifeEvent(
        event_id=event_id_for(source, f"B{i}"),
        source=source,
        person=PersonRef(
            pseudonym=f"{i + 1:064x}", name_digest="b" * 64, id_masked="x", name_masked="x"
        ),
        occurred_at=NOW - timedelta(days=2, seconds=i),
        received_at=NOW - timedelta(days=1),
        attributes={"bank_code": "ICBC", "channel": "atm", "card_last4": "1234"},
        provenance=Provenance(channel=Channel.KAFKA, source_record_id=f"B{i}"),
    )


def workload(kind: str, count: int) -> list[LifeEvent]:
    every = round(1 / DIRECT_SHARE[kind])
    return [
        event(i) if i % every == 0 else event(i, AUXILIARY[i % len(AUXILIARY)])
        for i in range(count)
    ]


async def run(
    kind: str,
    count: int,
    bootstrap: str,
    server_url: str,
    replicas: int,
    watch: dict[str, int],
) -> tuple[dict[str, float], float]:
    url = await fresh_database(server_url)
    await upgrade(url, SPEC.migrations, SPEC.schema)
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text(REGISTER), {"n": count})
        await connection.execute(text(CERTIFICATION_ROWS))
    topic = f"bench.validated.{uuid.uuid4().hex[:6]}"
    await ensure_topics(bootstrap, [topic])
    producer = Producer(bootstrap)
    await producer.start()
    messages = [OutMessage(topic, encode(e), e.person.pseudonym) for e in workload(kind, count)]
    for i in range(0, count, 10_000):
        await producer.send_many(messages[i : i + 10_000])
    ceiling = await raw_rate(bootstrap, [topic], count)
    result = await asyncio.to_thread(replicated, replicas, url, bootstrap, topic, count, watch)
    async with make_sessions(engine)() as session:
        left = await session.scalar(text("SELECT count(*) FROM matcher.outbox"))
    assert left == 0, f"{left} state changes not relayed"
    await producer.stop()
    await engine.dispose()
    return result, ceiling


def configurations() -> list[tuple[str, int]]:
    """``BENCH_CONFIGS`` (default ``mix:1,direct:1,mix:2,direct:2``): workload:replicas."""
    text_ = os.environ.get("BENCH_CONFIGS", "mix:1,direct:1,mix:2,direct:2")
    return [(k, int(r)) for k, r in (c.split(":") for c in text_.split(","))]


def replicated(
    replicas: int, url: str, bootstrap: str, topic: str, count: int, watch: dict[str, int]
) -> dict[str, float]:
    """``replicas`` matcher processes in one consumer group (the topic's 4 partitions
    shared among them, as a deployment scales), started together once all are ready; the
    rate from the first event any of them handled to the last, and the CPU per event of
    the replicas, PostgreSQL and the broker over the same time."""
    context = spawn_context()
    shared: dict[str, Any] = {"handled": context.Value("q", 0), **shared_signals(context)}
    group = f"bench-matcher-{uuid.uuid4().hex[:6]}"
    processes = [
        context.Process(target=replica, args=(url, bootstrap, topic, group, shared))
        for _ in range(replicas)
    ]
    reports, cpu, timeline = run_replicas(
        processes,
        shared,
        watch,
        finished=lambda: shared["handled"].value >= count,
        what=lambda: f"the matcher handled {shared['handled'].value} of {count}",
    )
    first = min(f for f, _, _, _ in reports if f is not None)
    last = max(e for _, e, _, _ in reports if e is not None)
    result = {
        "rate": count / (last - first),
        "matcher": sum(c for _, _, c, _ in reports) / count * 1e6,
        "batch": count / sum(b for _, _, _, b in reports),
    }
    for name, seconds in cpu.items():
        result[name] = seconds / count * 1e6
    machine = machine_shares(timeline, first, last)
    return result | {f"machine_{k}": share for k, share in machine.items()}


def replica(url: str, bootstrap: str, topic: str, group: str, shared: dict[str, Any]) -> None:
    """One matcher replica (its own process): consumer, handler and relay, as the service
    wires them; adds what it handles to ``handled`` and reports (first, last, CPU, batches)."""
    shared["reports"].put(asyncio.run(_replica(url, bootstrap, topic, group, shared)))


async def _replica(
    url: str, bootstrap: str, topic: str, group: str, shared: dict[str, Any]
) -> tuple[float | None, float | None, float, int]:
    engine = make_engine(url)
    sessions = make_sessions(engine)
    producer = Producer(bootstrap)
    await producer.start()
    outbox = Outbox(messaging.outbox)
    handler = ValidatedHandler(
        certifier=Certifier(outbox=outbox, clock=FixedClock(NOW)), outbox=outbox
    )

    async def relay() -> None:
        await outbox.relay(sessions, producer)

    consumer: BatchConsumer[EventHead | LifeEvent] = BatchConsumer(
        name=group,
        topics=[topic],
        bootstrap=bootstrap,
        decode=decode_head,
        handler=handler,
        sessions=sessions,
        producer=producer,
        after_commit=relay,
    )
    shared["ready"].release()
    while not shared["go"].is_set():  # every replica joins the group at once
        await asyncio.sleep(0.005)
    cpu = time.process_time()
    task = asyncio.create_task(consumer.run())
    first: float | None = None
    last: float | None = None
    seen = 0
    handled = shared["handled"]
    while not shared["done"].is_set():
        if consumer.stats.received != seen:
            last = time.perf_counter()
            first = last if first is None else first
            with handled.get_lock():
                handled.value += consumer.stats.received - seen
            seen = consumer.stats.received
        await asyncio.sleep(0.002)
    cpu = time.process_time() - cpu
    consumer.stop()
    await task
    await producer.stop()
    await engine.dispose()
    return first, last, cpu, consumer.stats.batches


async def main() -> None:
    count = int(os.environ.get("BENCH_EVENTS", "100000"))
    if count < MIN_EVENTS:
        # The rate runs from the first batch handled to the last; with a few batches (a
        # replica may take 2,000 events at once) there is no interval to divide by.
        raise SystemExit(f"BENCH_EVENTS={count}: at least {MIN_EVENTS:,} make a rate")
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    with (
        tempfile.TemporaryDirectory(prefix="lifesign-matcher-bench-") as tmp,
        EmbeddedBroker() as broker,
        embedded_postgres(Path(tmp) / "pg") as url,
    ):
        watch = {
            "postgres": postmaster_of(Path(tmp) / "pg"),
            "tansu": broker._process.pid,  # type: ignore[union-attr]
        }
        for kind, replicas in configurations():
            results = []
            for _ in range(runs):
                results.append(await run(kind, count, broker.bootstrap, url, replicas, watch))
            median = {k: statistics.median(r[k] for r, _ in results) for k in results[0][0]}
            ceiling = statistics.median(c for _, c in results)
            name = f"matcher_{kind}" + (f"_{replicas}_replicas" if replicas > 1 else "")
            print(f"BENCH {name}_events_per_second {median['rate']:.0f} events/s", flush=True)
            print(f"BENCH {name}_broker_raw_read {ceiling:.0f} msgs/s")
            parts = ("matcher", "postgres", "tansu")
            shares = ", ".join(f"{k} {median[k]:.0f}" for k in parts)
            total = sum(median[k] for k in parts)
            print(f"# cpu us/event ({name}): {shares}; total {total:.0f}", flush=True)
            print(f"# records per batch ({name}): {median['batch']:.0f}")
            states = ("idle", "iowait", "steal")
            spent = ", ".join(f"{k} {median['machine_' + k]:.0%}" for k in states)
            print(f"# machine while the replicas ran ({name}): {spent}")
            rates = sorted(r["rate"] for r, _ in results)
            print(f"# runs ({name}): {len(rates)}, from {rates[0]:.0f} to {rates[-1]:.0f} events/s")
        print(f"# load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    asyncio.run(main())
