"""``make bench`` (pipeline): department records through ingest AND quality together, end to
end through the broker and PostgreSQL, against the broker's raw read of the same feed
messages (issue 4's target: 30,000 events/s).

Each run: a fresh broker, a fresh database with both services' migrations and every
record's person in quality's registry copy; N department records (a mix of the busiest
sources, each a different person) published on their feed topics; then ingest's real FeedHandler and
quality's real NormalizedHandler, each in its own BatchConsumer as the services wire them,
run at the same time in this process (one event loop, as in one pod each would have its
own). The rate counts from the first record ingest receives to the last event quality
has received; the ceiling is a plain consumer reading the same feed messages. A third
line measures quality by itself on the events ingest published (where the time goes).
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

import orjson
from common import fresh_database, raw_rate  # the sibling module (benches run as scripts)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from lifesign import topics
from lifesign.bus import BatchConsumer, OutMessage, Producer, ensure_topics
from lifesign.catalogue import CATALOGUE
from lifesign.clock import FixedClock
from lifesign.db import make_engine, make_sessions, upgrade
from lifesign.identity import birth_date_of, make_id_number, sex_of
from lifesign.runtime import EmbeddedBroker, embedded_postgres
from lifesign.settings import TIMEZONE, LifesignSettings
from lifesign_ingest.consumers import FeedHandler
from lifesign_ingest.intake import Intake
from lifesign_ingest.main import SPEC as INGEST
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


async def database(server_url: str, registry: list[dict[str, object]]) -> AsyncEngine:
    """A fresh database with both schemas and quality's registry copy."""
    url = await fresh_database(server_url)
    await upgrade(url, INGEST.migrations, INGEST.schema)
    await upgrade(url, QUALITY.migrations, QUALITY.schema)
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(REGISTER, registry)
    return engine


async def quality_alone(
    count: int, bootstrap: str, server_url: str, registry: list[dict[str, object]]
) -> float:
    """Quality by itself on the events ingest published (a new group, a fresh database)."""
    engine = await database(server_url, registry)
    producer = Producer(bootstrap)
    await producer.start()
    quality: BatchConsumer[bytes] = BatchConsumer(
        name=f"bench-quality-alone-{uuid.uuid4().hex[:6]}",
        topics=[topics.EVENTS_NORMALIZED],
        bootstrap=bootstrap,
        decode=raw_bytes,
        handler=NormalizedHandler(clock=FixedClock(NOW)),
        sessions=make_sessions(engine),
        producer=producer,
    )
    task = asyncio.create_task(quality.run())
    while quality.stats.received == 0:
        await asyncio.sleep(0.005)
    started, first = time.perf_counter(), quality.stats.received
    while quality.stats.received < count:
        await asyncio.sleep(0.005)
    rate = (count - first) / (time.perf_counter() - started)
    quality.stop()
    await task
    await producer.stop()
    await engine.dispose()
    return rate


async def run(count: int, bootstrap: str, server_url: str) -> tuple[float, float, float]:
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
    feed = sorted({CATALOGUE[s].feed_topic for s in SOURCES})
    await ensure_topics(bootstrap, [*feed, topics.EVENTS_NORMALIZED, topics.EVENTS_VALIDATED])
    producer = Producer(bootstrap)
    await producer.start()
    messages = feed_messages(count)
    for i in range(0, count, 10_000):
        await producer.send_many(messages[i : i + 10_000])
    ceiling = await raw_rate(bootstrap, feed, count)
    sessions = make_sessions(engine)
    clock = FixedClock(NOW)
    tag = uuid.uuid4().hex[:6]
    ingest: BatchConsumer[bytes] = BatchConsumer(
        name=f"bench-ingest-{tag}",
        topics=feed,
        bootstrap=bootstrap,
        decode=raw_bytes,
        handler=FeedHandler(
            intake=Intake(pseudonymizer=settings.pseudonymizer, cipher=settings.cipher),
            clock=clock,
        ),
        sessions=sessions,
        producer=producer,
    )
    quality: BatchConsumer[bytes] = BatchConsumer(
        name=f"bench-quality-{tag}",
        topics=[topics.EVENTS_NORMALIZED],
        bootstrap=bootstrap,
        decode=raw_bytes,
        handler=NormalizedHandler(clock=clock),
        sessions=sessions,
        producer=producer,
    )
    tasks = [asyncio.create_task(ingest.run()), asyncio.create_task(quality.run())]
    while ingest.stats.received == 0:
        await asyncio.sleep(0.005)
    started = time.perf_counter()
    first = ingest.stats.received
    deadline = time.perf_counter() + 900
    while quality.stats.received + ingest.stats.dead_lettered < count:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"quality received {quality.stats.received} of {count}")
        await asyncio.sleep(0.005)
    rate = (count - first) / (time.perf_counter() - started)
    ingest.stop()
    quality.stop()
    await asyncio.gather(*tasks)
    async with sessions() as session:
        counted = await session.scalar(text("SELECT sum(received) FROM quality.quality_count"))
    assert ingest.stats.dead_lettered == 0, f"ingest rejected {ingest.stats.dead_lettered}"
    assert counted == count, f"quality counted {counted} of {count}"
    await producer.stop()
    await engine.dispose()
    alone = await quality_alone(count, bootstrap, server_url, registry)
    return rate, ceiling, alone


async def main() -> None:
    # 30,000 records a run: at today's rates (under 1,000 a second) 100,000 would take minutes.
    count = int(os.environ.get("BENCH_EVENTS", "30000"))
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    with (
        tempfile.TemporaryDirectory(prefix="lifesign-pipeline-bench-") as tmp,
        embedded_postgres(Path(tmp) / "pg") as url,
    ):
        results = []
        for _ in range(runs):
            # A broker per run: each run's consumers read exactly its own records.
            with EmbeddedBroker() as broker:
                results.append(await run(count, broker.bootstrap, url))
        rate = statistics.median(r for r, _, _ in results)
        ceiling = statistics.median(c for _, c, _ in results)
        alone = statistics.median(a for _, _, a in results)
        print(f"BENCH pipeline_ingest_quality_events_per_second {rate:.0f} events/s")
        print(f"BENCH pipeline_feed_broker_raw_read {ceiling:.0f} msgs/s")
        print(f"BENCH pipeline_quality_alone_events_per_second {alone:.0f} events/s")


if __name__ == "__main__":
    asyncio.run(main())
