"""``make bench`` (pipeline): department records through ingest AND quality together, end to
end through the broker and PostgreSQL, against the broker's raw read of the same feed
messages (issue 4's target: 30,000 events/s).

Each run: a fresh broker, a fresh database with both services' migrations and every
record's person in quality's registry copy; N department records (a mix of the busiest
sources, each a different person) published on their feed topics. Then ingest and quality
run as their own processes, as they are deployed (each service its own pod): ``I``
ingest replicas in one consumer group and ``Q`` quality replicas in another, each process
wired like the service (its real handler in a BatchConsumer, ingest's caches loaded before
the consumer settles the garbage collector), all started together. Lines, per
configuration ``<I>i_<Q>q``:

* ``pipeline_<I>i_<Q>q_events_per_second``: from the first record any ingest replica
  received to the moment quality has received every event;
* ``pipeline_feed_broker_raw_read``: a plain consumer reading the same feed messages, the
  ceiling (the broker's read rate, no processing, no database);
* ``pipeline_bare_two_hops_events_per_second``: the consumer loop's own floor, the same
  records through two hops wired like ``1i_1q`` whose handlers do no work (each message
  forwarded as it came, in the loop's transaction, with nothing written): what the
  framework, the broker and PostgreSQL's empty transactions cost before either service
  does anything; with ``# cpu`` beside it;
* ``pipeline_quality_alone_events_per_second``: one quality replica by itself, later, on
  the events ingest published (a new group, a fresh database);
* ``# cpu``: where the CPU went in the pipeline run, in microseconds per event: each
  Python role (its processes' CPU time), PostgreSQL (the server's processes) and Tansu
  (the broker's process), read from /proc. The machine's two cores are shared by all of
  them (and by whatever else runs): the sum bounds the rate.

``BENCH_CONFIGS`` (default ``1x1,2x2``) lists the configurations as ``<I>x<Q>``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from common import (  # the sibling module (benches run as scripts)
    fresh_database,
    postmaster_of,
    raw_rate,
    run_replicas,
    shared_signals,
    spawn_context,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from lifesign import topics
from lifesign.bus import Batch, BatchConsumer, OutMessage, Producer, ensure_topics
from lifesign.catalogue import CATALOGUE
from lifesign.clock import FixedClock
from lifesign.db import make_engine, make_sessions, upgrade
from lifesign.identity import birth_date_of, make_id_number, sex_of
from lifesign.runtime import EmbeddedBroker, embedded_postgres
from lifesign.settings import TIMEZONE, LifesignSettings
from lifesign_ingest.consumers import FeedHandler
from lifesign_ingest.intake import Intake
from lifesign_ingest.main import SPEC as INGEST
from lifesign_ingest.service import warm_up
from lifesign_quality.consumers import NormalizedHandler, raw_bytes
from lifesign_quality.main import SPEC as QUALITY

NOW = datetime(2026, 12, 3, 9, tzinfo=TIMEZONE)
#: The busiest sources of a simulated province, roughly in their proportions.
SOURCES = (
    "pharmacy_purchase",
    "outpatient_settlement",
    "transit_trip",
    "social_security_card_transaction",
    "public_health_record",
    "bank_card_password_change",
)
FEED = sorted({CATALOGUE[s].feed_topic for s in SOURCES})
#: Where the bare second hop forwards to (a topic of its own: nothing reads it).
BARE_OUT = "bench.bare.v1"
REGISTER = text(
    "INSERT INTO quality.pensioner (pseudonym, sex, birth_date, updated_at) "
    "VALUES (:pseudonym, :sex, :birth_date, now())"
)


def attributes(source: str, i: int) -> dict[str, object]:
    """Valid attributes: every required field of the source, in its type and domain."""
    values: dict[str, object] = {}
    for f in CATALOGUE[source].fields:
        if not f.required:
            continue
        kind = f.type.value
        if f.domain:
            values[f.name] = f.domain[0]
        elif kind == "date":
            values[f.name] = (NOW.date() - timedelta(days=1)).isoformat()
        elif kind == "datetime":
            values[f.name] = (NOW - timedelta(days=1)).isoformat()
        elif kind in ("decimal",):
            values[f.name] = f"{i % 500 + 1}.50"
        elif kind == "integer":
            values[f.name] = i % 7 + 1
        elif kind == "boolean":
            values[f.name] = True
        else:
            values[f.name] = f"V{i:07d}"
    return values


def id_number(i: int) -> str:
    return make_id_number("410102", date(1950, 1, 1) + timedelta(days=i % 9000), i % 999)


def feed_messages(count: int) -> list[OutMessage]:
    out = []
    for i in range(count):
        source = SOURCES[i % len(SOURCES)]
        record = {
            "record_id": f"R{i:08d}",
            "id_number": id_number(i),
            "name": "张三",
            "occurred_at": (NOW - timedelta(days=1, seconds=i)).isoformat(),
            "region": "410102",
            "attributes": attributes(source, i),
        }
        out.append(OutMessage(CATALOGUE[source].feed_topic, orjson.dumps(record), f"R{i:08d}"))
    return out


async def publish_feed(bootstrap: str, count: int, downstream: list[str]) -> None:
    """The feed topics and ``downstream`` created, and ``count`` records on the feeds."""
    await ensure_topics(bootstrap, [*FEED, *downstream])
    producer = Producer(bootstrap)
    await producer.start()
    messages = feed_messages(count)
    for i in range(0, count, 10_000):
        await producer.send_many(messages[i : i + 10_000])
    await producer.stop()


async def database(server_url: str, registry: list[dict[str, object]]) -> AsyncEngine:
    """A fresh database with both schemas and quality's registry copy."""
    url = await fresh_database(server_url)
    await upgrade(url, INGEST.migrations, INGEST.schema)
    await upgrade(url, QUALITY.migrations, QUALITY.schema)
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(REGISTER, registry)
    return engine


# --- the replicas -------------------------------------------------------------------------


def replica(role: str, url: str, bootstrap: str, group: str, shared: dict[str, Any]) -> None:
    """One ingest or quality process, wired as the service wires it."""
    shared["reports"].put(asyncio.run(_replica(role, url, bootstrap, group, shared)))


class Forward:
    """A handler that does no work: each message goes on to ``topic`` as it came."""

    def __init__(self, topic: str) -> None:
        self._topic = topic

    async def __call__(self, session: object, batch: Batch[bytes]) -> None:
        for item in batch.items:
            batch.emit(OutMessage(self._topic, item.value, item.key, item.headers))


async def _replica(
    role: str, url: str, bootstrap: str, group: str, shared: dict[str, Any]
) -> tuple[str, float | None, float | None, float, int]:
    settings = LifesignSettings()
    engine = make_engine(url)
    producer = Producer(bootstrap)
    await producer.start()
    handler: Any
    if shared["bare"]:
        handler = Forward(topics.EVENTS_NORMALIZED if role == "ingest" else BARE_OUT)
        subscribed = FEED if role == "ingest" else [topics.EVENTS_NORMALIZED]
    elif role == "ingest":
        warm_up()
        intake = Intake(pseudonymizer=settings.pseudonymizer, cipher=settings.cipher)
        handler = FeedHandler(intake=intake, clock=FixedClock(NOW))
        subscribed = FEED
    else:
        handler = NormalizedHandler(clock=FixedClock(NOW))
        subscribed = [topics.EVENTS_NORMALIZED]
    consumer: BatchConsumer[bytes] = BatchConsumer(
        name=group,
        topics=subscribed,
        bootstrap=bootstrap,
        decode=raw_bytes,
        handler=handler,
        sessions=make_sessions(engine),
        producer=producer,
    )
    shared["ready"].release()
    while not shared["go"].is_set():  # every replica joins the group at once
        await asyncio.sleep(0.005)
    cpu = time.process_time()
    task = asyncio.create_task(consumer.run())
    first: float | None = None
    last: float | None = None
    seen = dead = 0
    received, dead_lettered = shared[f"{role}_received"], shared[f"{role}_dead"]
    while not shared["done"].is_set():
        if consumer.stats.received != seen:
            last = time.perf_counter()
            first = last if first is None else first
            with received.get_lock():
                received.value += consumer.stats.received - seen
            seen = consumer.stats.received
        if consumer.stats.dead_lettered != dead:
            with dead_lettered.get_lock():
                dead_lettered.value += consumer.stats.dead_lettered - dead
            dead = consumer.stats.dead_lettered
        await asyncio.sleep(0.002)
    cpu = time.process_time() - cpu
    consumer.stop()
    await task
    await producer.stop()
    await engine.dispose()
    return role, first, last, cpu, consumer.stats.batches


def replicated(
    url: str,
    bootstrap: str,
    count: int,
    ingest: int,
    quality: int,
    watch: dict[str, int],
    *,
    bare: bool = False,
) -> dict[str, float]:
    """Run ``ingest`` + ``quality`` replica processes until quality has received ``count``
    events (or ingest dead-lettered the rest); the rate and the CPU per event of each part.
    ``bare``: the two hops' handlers only forward (the loop's floor)."""
    context = spawn_context()
    shared: dict[str, Any] = {
        "bare": bare,
        **shared_signals(context),
        **{
            f"{r}_{k}": context.Value("q", 0)
            for r in ("ingest", "quality")
            for k in ("received", "dead")
        },
    }
    tag = uuid.uuid4().hex[:6]
    roles = ["ingest"] * ingest + ["quality"] * quality
    processes = [
        context.Process(target=replica, args=(r, url, bootstrap, f"bench-{r}-{tag}", shared))
        for r in roles
    ]
    reports, cpu, _ = run_replicas(
        processes,
        shared,
        watch,
        finished=lambda: shared["quality_received"].value + shared["ingest_dead"].value >= count,
        what=lambda: f"quality received {shared['quality_received'].value} of {count}",
    )
    starters = [r for r in reports if r[0] == ("ingest" if ingest else "quality")]
    first = min(f for _, f, _, _, _ in starters if f is not None)
    last = max(e for role, _, e, _, _ in reports if role == "quality" and e is not None)
    assert shared["ingest_dead"].value == 0, f"ingest rejected {shared['ingest_dead'].value}"
    result = {"rate": count / (last - first)}
    for role in ("ingest", "quality"):
        result[role] = sum(c for r, _, _, c, _ in reports if r == role) / count * 1e6
        batches = sum(b for r, _, _, _, b in reports if r == role)
        result[f"{role}_batch"] = count / batches if batches else 0.0
    for name, seconds in cpu.items():
        result[name] = seconds / count * 1e6
    return result


async def run(
    count: int,
    bootstrap: str,
    server_url: str,
    configuration: tuple[int, int],
    watch: dict[str, int],
) -> tuple[dict[str, float], float, float]:
    settings = LifesignSettings()
    registry: list[dict[str, object]] = [
        {
            "pseudonym": settings.pseudonymizer.person(id_number(i)),
            "sex": sex_of(id_number(i)),
            "birth_date": birth_date_of(id_number(i)),
        }
        for i in range(count)
    ]
    engine = await database(server_url, registry)
    url = engine.url.render_as_string(hide_password=False)
    await publish_feed(bootstrap, count, [topics.EVENTS_NORMALIZED, topics.EVENTS_VALIDATED])
    ceiling = await raw_rate(bootstrap, FEED, count)
    ingest, quality = configuration
    measured = await asyncio.to_thread(replicated, url, bootstrap, count, ingest, quality, watch)
    async with engine.connect() as connection:
        counted = await connection.scalar(text("SELECT sum(received) FROM quality.quality_count"))
        lineage = await connection.scalar(text("SELECT count(*) FROM ingest.event_lineage"))
    assert counted == count, f"quality counted {counted} of {count}"
    assert lineage == count, f"ingest wrote {lineage} lineage rows of {count}"
    await engine.dispose()
    # Quality by itself, on what ingest published: a fresh database, a new group.
    engine = await database(server_url, registry)
    url = engine.url.render_as_string(hide_password=False)
    alone = await asyncio.to_thread(replicated, url, bootstrap, count, 0, 1, {})
    await engine.dispose()
    return measured, ceiling, alone["rate"]


async def bare_run(
    count: int, bootstrap: str, server_url: str, watch: dict[str, int]
) -> dict[str, float]:
    """The same records through two hops that only forward (one process each)."""
    url = await fresh_database(server_url)
    await publish_feed(bootstrap, count, [topics.EVENTS_NORMALIZED, BARE_OUT])
    return await asyncio.to_thread(replicated, url, bootstrap, count, 1, 1, watch, bare=True)


def report(name: str, results: list[dict[str, float]]) -> None:
    """The rate's line and, beside it, where the CPU went and how full the batches were."""
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print(f"BENCH {name}_events_per_second {median['rate']:.0f} events/s")
    parts = ", ".join(f"{k} {median[k]:.0f}" for k in ("ingest", "quality", "postgres", "tansu"))
    total = sum(median[k] for k in ("ingest", "quality", "postgres", "tansu"))
    print(f"# cpu us/event ({name}): {parts}; total {total:.0f}")
    print(
        f"# records per batch ({name}): ingest {median['ingest_batch']:.0f}, "
        f"quality {median['quality_batch']:.0f}"
    )


def configurations() -> list[tuple[int, int]]:
    text_ = os.environ.get("BENCH_CONFIGS", "1x1,2x2")
    return [(int(i), int(q)) for i, q in (c.split("x") for c in text_.split(","))]


async def main() -> None:
    # 30,000 records a run: at today's rates (a few thousand a second) 100,000 take minutes.
    count = int(os.environ.get("BENCH_EVENTS", "30000"))
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    with (
        tempfile.TemporaryDirectory(prefix="lifesign-pipeline-bench-") as tmp,
        embedded_postgres(Path(tmp) / "pg") as url,
    ):
        postgres = postmaster_of(Path(tmp) / "pg")
        ceilings, alone = [], []
        for configuration in configurations():
            results = []
            for _ in range(runs):
                # A broker per run: each run's consumers read exactly its own records.
                with EmbeddedBroker() as broker:
                    watch = {"postgres": postgres, "tansu": broker._process.pid}  # type: ignore[union-attr]
                    measured, ceiling, rate = await run(
                        count, broker.bootstrap, url, configuration, watch
                    )
                results.append(measured)
                ceilings.append(ceiling)
                alone.append(rate)
            report(f"pipeline_{configuration[0]}i_{configuration[1]}q", results)
        bare = []
        for _ in range(runs):
            with EmbeddedBroker() as broker:
                watch = {"postgres": postgres, "tansu": broker._process.pid}  # type: ignore[union-attr]
                bare.append(await bare_run(count, broker.bootstrap, url, watch))
        report("pipeline_bare_two_hops", bare)
        print(f"BENCH pipeline_feed_broker_raw_read {statistics.median(ceilings):.0f} msgs/s")
        rate = statistics.median(alone)
        print(f"BENCH pipeline_quality_alone_events_per_second {rate:.0f} events/s")
        print(f"# load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    asyncio.run(main())
