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

import asyncpg
from aiokafka import AIOKafkaConsumer
from sqlalchemy import make_url, text

from lifesign.bus import BatchConsumer, OutMessage, Producer, encode, ensure_topics, json_decoder
from lifesign.clock import FixedClock
from lifesign.db import make_engine, make_sessions, sync_url, upgrade
from lifesign.events import Channel, LifeEvent, PersonRef, Provenance, event_id_for
from lifesign.messaging import Outbox
from lifesign.runtime import EmbeddedBroker, embedded_postgres
from lifesign_matcher.consumers import Certifier, ValidatedHandler
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


async def raw_rate(bootstrap: str, topic: str, count: int) -> float:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
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
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(sync_url(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def run(kind: str, count: int, bootstrap: str, server_url: str) -> tuple[float, float]:
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
    ceiling = await raw_rate(bootstrap, topic, count)
    sessions = make_sessions(engine)
    outbox = Outbox(messaging.outbox)
    handler = ValidatedHandler(
        certifier=Certifier(outbox=outbox, clock=FixedClock(NOW)), outbox=outbox
    )

    async def relay() -> None:
        await outbox.relay(sessions, producer)

    consumer: BatchConsumer[LifeEvent] = BatchConsumer(
        name=f"bench-matcher-{uuid.uuid4().hex[:6]}",
        topics=[topic],
        bootstrap=bootstrap,
        decode=json_decoder(LifeEvent),
        handler=handler,
        sessions=sessions,
        producer=producer,
        after_commit=relay,
    )
    task = asyncio.create_task(consumer.run())
    while consumer.stats.received == 0:
        await asyncio.sleep(0.005)
    started, first = time.perf_counter(), consumer.stats.received
    while consumer.stats.received < count:
        await asyncio.sleep(0.005)
    rate = (consumer.stats.received - first) / (time.perf_counter() - started)
    consumer.stop()
    await task
    async with sessions() as session:
        left = await session.scalar(text("SELECT count(*) FROM matcher.outbox"))
    assert left == 0, f"{left} state changes not relayed"
    await producer.stop()
    await engine.dispose()
    return rate, ceiling


async def main() -> None:
    count = int(os.environ.get("BENCH_EVENTS", "100000"))
    runs = int(os.environ.get("BENCH_RUNS", "3"))
    with (
        tempfile.TemporaryDirectory(prefix="lifesign-matcher-bench-") as tmp,
        EmbeddedBroker() as broker,
        embedded_postgres(Path(tmp) / "pg") as url,
    ):
        for kind in ("mix", "direct"):
            results = [await run(kind, count, broker.bootstrap, url) for _ in range(runs)]
            rate = statistics.median(r for r, _ in results)
            ceiling = statistics.median(c for _, c in results)
            print(f"BENCH matcher_{kind}_events_per_second {rate:.0f} events/s")
            print(f"BENCH matcher_{kind}_broker_raw_read {ceiling:.0f} msgs/s")


if __name__ == "__main__":
    asyncio.run(main())
