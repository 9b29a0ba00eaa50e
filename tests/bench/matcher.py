"""``make bench`` (matcher): validated events through the matcher's handler, in process,
against the broker's raw read of the same messages (issue 5's target: 30,000 events/s).

100,000 pensioners are registered with one set-based INSERT; 100,000 bank-card events (a
proof of life each, R-7.5.1 a, so every event folds and moves a validity window) are
published to a topic and consumed by a BatchConsumer running the matcher's
ValidatedHandler with its real database writes and outbox.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from lifesign.bus import BatchConsumer, Producer, encode, ensure_topics, json_decoder
from lifesign.clock import FixedClock
from lifesign.db import make_engine, make_sessions, upgrade
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


def event(i: int) -> LifeEvent:
    return LifeEvent(
        event_id=event_id_for("bank_card_password_change", f"B{i}"),
        source="bank_card_password_change",
        person=PersonRef(
            pseudonym=f"{i + 1:064x}", name_digest="b" * 64, id_masked="x", name_masked="x"
        ),
        occurred_at=NOW - timedelta(days=2, seconds=i),
        received_at=NOW - timedelta(days=1),
        attributes={"bank_code": "ICBC", "channel": "atm", "card_last4": "1234"},
        provenance=Provenance(channel=Channel.KAFKA, source_record_id=f"B{i}"),
    )


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


async def main() -> None:
    count = int(os.environ.get("BENCH_EVENTS", "100000"))
    with (
        tempfile.TemporaryDirectory(prefix="lifesign-matcher-bench-") as tmp,
        EmbeddedBroker() as broker,
        embedded_postgres(Path(tmp) / "pg") as url,
    ):
        await upgrade(url, SPEC.migrations, SPEC.schema)
        engine = make_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text(REGISTER), {"n": count})
        topic = f"bench.validated.{uuid.uuid4().hex[:6]}"
        await ensure_topics(broker.bootstrap, [topic])
        producer = Producer(broker.bootstrap)
        await producer.start()
        futures = [
            await producer.send(topic, encode(event(i)), key=f"{i + 1:064x}") for i in range(count)
        ]
        await asyncio.gather(*futures)
        ceiling = await raw_rate(broker.bootstrap, topic, count)
        sessions = make_sessions(engine)
        outbox = Outbox(messaging.outbox)
        handler = ValidatedHandler(
            certifier=Certifier(outbox=outbox, clock=FixedClock(NOW)), outbox=outbox
        )
        consumer: BatchConsumer[LifeEvent] = BatchConsumer(
            name=f"bench-matcher-{uuid.uuid4().hex[:6]}",
            topics=[topic],
            bootstrap=broker.bootstrap,
            decode=json_decoder(LifeEvent),
            handler=handler,
            sessions=sessions,
            producer=producer,
        )
        task = asyncio.create_task(consumer.run())
        while consumer.stats.received == 0:
            await asyncio.sleep(0.01)
        started, first = time.perf_counter(), consumer.stats.received
        while consumer.stats.received < count:
            await asyncio.sleep(0.01)
        rate = (consumer.stats.received - first) / (time.perf_counter() - started)
        consumer.stop()
        await task
        await producer.stop()
        await engine.dispose()
    print(f"BENCH matcher_events_per_second {rate:.0f} events/s")
    print(f"BENCH matcher_broker_raw_read {ceiling:.0f} msgs/s")


if __name__ == "__main__":
    asyncio.run(main())
