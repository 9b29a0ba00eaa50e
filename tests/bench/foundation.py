"""``make bench`` (foundation): throughput of the foundation's hot paths, with the broker's ceiling.

Prints one line per figure, ``BENCH <name> <value> <unit>``, each the median of a few
runs (this machine is shared and noisy). Runs on the embedded defaults: Tansu and
PostgreSQL from their wheels, started here.

* ``broker_raw_read``: aiokafka reading the same LifeEvent messages with no decoding and
  no database: the ceiling for any consumer.
* ``consumer_loop``: the BatchConsumer reading, decoding and validating the same messages
  and running one (empty) database transaction per batch, committing offsets after it.
* ``ingest_normalize``: ingest's normalisation of department records (id validation,
  pseudonyms, masking, LifeEvent construction), in process, on one core.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from common import raw_rate  # the sibling module (benches run as scripts)
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.bus import Batch, BatchConsumer, Producer, encode, ensure_topics, json_decoder
from lifesign.catalogue import get_source
from lifesign.db import make_engine, make_sessions
from lifesign.events import Channel, FeedRecord, LifeEvent, PersonRef, Provenance, event_id_for
from lifesign.identity import Pseudonymizer, key_from_text, make_id_number
from lifesign.runtime import EmbeddedBroker, embedded_postgres

MESSAGES = 50_000
RUNS = 3
REGIONS = ("110105", "310104", "440106", "650102", "110104")


def report(name: str, values: list[float], unit: str) -> None:
    print(f"BENCH {name} {statistics.median(values):.0f} {unit}", flush=True)


def sample_event(i: int) -> LifeEvent:
    return LifeEvent(
        event_id=event_id_for("bank_card_password_change", f"R{i}"),
        source="bank_card_password_change",
        person=PersonRef(
            pseudonym=f"{i:064x}",
            name_digest=f"{i * 7:064x}",
            id_masked="110105********002X",
            name_masked="张*",
        ),
        occurred_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(seconds=i),
        received_at=datetime(2026, 11, 2, tzinfo=UTC),
        region="110105",
        attributes={"bank_code": "ICBC", "channel": "atm", "card_last4": f"{i % 10000:04d}"},
        provenance=Provenance(channel=Channel.KAFKA, source_record_id=f"R{i}"),
    )


async def fill(bootstrap: str, topic: str) -> None:
    await ensure_topics(bootstrap, [topic], partitions=4)
    producer = Producer(bootstrap, client_id="bench")
    await producer.start()
    try:
        futures = [
            await producer.send(topic, encode(sample_event(i)), key=f"{i:064x}")
            for i in range(MESSAGES)
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def consumer_loop(bootstrap: str, topic: str, database_url: str) -> float:
    engine = make_engine(database_url)
    producer = Producer(bootstrap, client_id="bench-loop")
    await producer.start()

    async def handler(session: AsyncSession, batch: Batch[LifeEvent]) -> None:
        await session.execute(select_one)

    from sqlalchemy import text

    select_one = text("SELECT 1")
    consumer: BatchConsumer[LifeEvent] = BatchConsumer(
        name=f"bench-{uuid.uuid4().hex[:8]}",
        topics=[topic],
        bootstrap=bootstrap,
        decode=json_decoder(LifeEvent),
        handler=handler,
        sessions=make_sessions(engine),
        producer=producer,
    )
    task = asyncio.create_task(consumer.run())
    try:
        while consumer.stats.received == 0:  # exclude the group join from the timing
            await asyncio.sleep(0.01)
        started, first = time.perf_counter(), consumer.stats.received
        while consumer.stats.received < MESSAGES:
            await asyncio.sleep(0.01)
        return (consumer.stats.received - first) / (time.perf_counter() - started)
    finally:
        consumer.stop()
        await task
        await producer.stop()
        await engine.dispose()


def ingest_normalize() -> float:
    from lifesign_ingest.service import normalize_record

    source = get_source("bank_card_password_change")
    pseudonymizer = Pseudonymizer(key_from_text("bench"))
    records = [
        FeedRecord(
            record_id=f"R{i}",
            id_number=make_id_number(
                REGIONS[i % 5], date(1940 + i % 30, 1 + i % 12, 1 + i % 28), i % 1000
            ),
            name="王秀英",
            occurred_at=datetime(2026, 11, 1, 8, 0),
            attributes={"bank_code": "ICBC", "channel": "atm", "card_last4": "4417"},
        )
        for i in range(20_000)
    ]
    provenance = Provenance(channel=Channel.KAFKA, source_record_id="x")
    now = datetime(2026, 11, 2, tzinfo=UTC)
    normalize_record(records[0], source=source, provenance=provenance, received_at=now,
                     pseudonymizer=pseudonymizer)  # fmt: skip # warm the region table
    started = time.perf_counter()
    for record in records:
        normalize_record(record, source=source, provenance=provenance, received_at=now,
                         pseudonymizer=pseudonymizer)  # fmt: skip
    return len(records) / (time.perf_counter() - started)


def median_of(runs: int, measure: Callable[[], float]) -> list[float]:
    return [measure() for _ in range(runs)]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lifesign-bench-") as tmp:
        var = Path(tmp)
        with (
            EmbeddedBroker(log_path=var / "tansu.log") as broker,
            embedded_postgres(var / "pg") as db,
        ):
            topic = f"bench.events.{uuid.uuid4().hex[:8]}"
            asyncio.run(fill(broker.bootstrap, topic))
            report(
                "broker_raw_read",
                median_of(RUNS, lambda: asyncio.run(raw_rate(broker.bootstrap, [topic], MESSAGES))),
                "msgs/s",
            )
            report(
                "consumer_loop",
                median_of(RUNS, lambda: asyncio.run(consumer_loop(broker.bootstrap, topic, db))),
                "events/s",
            )
    report("ingest_normalize", median_of(RUNS, ingest_normalize), "records/s")


if __name__ == "__main__":
    main()
