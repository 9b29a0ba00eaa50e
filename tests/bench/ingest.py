"""``make bench`` (ingest): department records through ingest's Kafka consumer, against the
broker's raw read of the same messages (issue 4: ingest + quality >= 30,000 events/s).

100,000 bank-card records (JSON FeedRecords, valid ids, 5 regions) are published on their
feed topic; 20,000 of their people are in the registry, 1% of those under another name
spelling (so the R-7.3.3.2 name check decrypts and scores them). A BatchConsumer runs
ingest's real FeedHandler: parse, normalise (id, OpenCC name, pseudonyms), one registry
look-up per batch, lineage and counts written per batch, events published after commit.
Each figure is the median of RUNS runs; every run reads the whole topic with a new group.

* ``ingest_events_per_second``: wall clock, consumer loop included (the machine is shared:
  read it beside ``ingest_broker_raw_read`` of the same run and the load average printed);
* ``ingest_events_per_cpu_second``: the same runs per second of this process's CPU time
  (broker and PostgreSQL excluded), what one core would give without neighbours;
* ``ingest_normalize_in_process``: parse, normalise and serialise alone, on one core, as
  the Kafka consumer does it (the event document encoded as it is);
* ``ingest_normalize_models_in_process``: the same as the upload and pull channels do it
  (the document validated into a LifeEvent and serialised).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
from common import raw_rate  # the sibling module (benches run as scripts)
from sqlalchemy import text

from lifesign.bus import BatchConsumer, Producer, ensure_topics
from lifesign.catalogue import get_source
from lifesign.clock import FixedClock
from lifesign.db import make_engine, make_sessions, upgrade
from lifesign.events import Channel, Provenance
from lifesign.identity import FieldCipher, Pseudonymizer, key_from_text, make_id_number
from lifesign.runtime import EmbeddedBroker, embedded_postgres
from lifesign_ingest import repository
from lifesign_ingest.consumers import FeedHandler
from lifesign_ingest.intake import Intake
from lifesign_ingest.main import SPEC
from lifesign_ingest.service import encode_document, parse_feed_record, registry_row

NOW = datetime(2026, 12, 3, tzinfo=UTC)
RUNS = 3
REGIONS = ("110105", "310104", "440106", "650102", "410102")
KEY = key_from_text("bench-ingest")


def id_of(i: int) -> str:
    return make_id_number(REGIONS[i % 5], date(1940 + i % 30, 1 + i % 12, 1 + i % 28), i % 997)


def record(i: int) -> bytes:
    return orjson.dumps(
        {
            "record_id": f"B{i}",
            "id_number": id_of(i),
            "name": "王秀瑛" if i % 100 == 0 else "王秀英",
            "occurred_at": "2026-11-01T08:00:00",
            "attributes": {"bank_code": "ICBC", "channel": "atm", "card_last4": "4417"},
        }
    )


async def register(sessions: object, people: int) -> None:
    rows = []
    for i in range(people):
        row = {
            "person_id": f"P{i}",
            "name": "王秀英",
            "id_number": id_of(i),
            "registration_region": REGIONS[i % 5],
            "insurance_type": "enterprise",
            "benefit_status": "normal",
            "benefit_start": "2005-01-01",
        }
        rows.append(
            registry_row(
                row,
                pseudonymizer=Pseudonymizer(KEY),
                cipher=FieldCipher(KEY),
                today=NOW.date(),
                now=NOW,
            )
        )
    async with sessions.begin() as session:  # type: ignore[attr-defined]
        for start in range(0, len(rows), 5000):
            await repository.upsert_pensioners(session, rows[start : start + 5000], "bench")


async def ingest_rate(
    bootstrap: str, topic: str, count: int, sessions: object, producer: Producer
) -> tuple[float, float]:
    handler = FeedHandler(
        intake=Intake(pseudonymizer=Pseudonymizer(KEY), cipher=FieldCipher(KEY)),
        clock=FixedClock(NOW),
    )
    consumer: BatchConsumer[bytes] = BatchConsumer(
        name=f"bench-ingest-{uuid.uuid4().hex[:6]}",
        topics=[topic],
        bootstrap=bootstrap,
        decode=bytes,
        handler=handler,
        sessions=sessions,  # type: ignore[arg-type]
        producer=producer,
    )
    task = asyncio.create_task(consumer.run())
    while consumer.stats.received == 0:  # exclude the group join from the timing
        await asyncio.sleep(0.01)
    started, cpu, first = time.perf_counter(), time.process_time(), consumer.stats.received
    while consumer.stats.received < count:
        await asyncio.sleep(0.01)
    done = consumer.stats.received - first
    rate = done / (time.perf_counter() - started)
    per_cpu = done / (time.process_time() - cpu)
    consumer.stop()
    await task
    assert consumer.stats.dead_lettered == 0, consumer.stats
    return rate, per_cpu


def normalize_rate(count: int, *, kafka: bool) -> float:
    """Records a second through parse, normalise and serialise, on one core: as the Kafka
    consumer does it (``kafka``: the event document, encoded as it is) or as the upload and
    pull channels do (the document validated into a LifeEvent, then serialised)."""
    intake = Intake(pseudonymizer=Pseudonymizer(KEY), cipher=FieldCipher(KEY))
    source = get_source("bank_card_password_change")
    raws = [record(i) for i in range(count)]
    started = time.perf_counter()
    for offset, raw in enumerate(raws):
        parsed = parse_feed_record(raw)
        if kafka:
            document, _ = intake.document(
                parsed,
                source=source,
                provenance={
                    "channel": "kafka",
                    "source_record_id": parsed.record_id,
                    "topic": "feed.bank_card_password_change.v1",
                    "partition": 0,
                    "offset": offset,
                    "file": None,
                    "row": None,
                    "job_id": None,
                },
                received_at=NOW,
            )
            encode_document(document)
            continue
        provenance = Provenance(
            channel=Channel.KAFKA, source_record_id=parsed.record_id, offset=offset
        )
        normalised = intake.normalise(parsed, source=source, provenance=provenance, received_at=NOW)
        normalised.event.model_dump_json()
    return count / (time.perf_counter() - started)


async def main() -> None:
    count = int(os.environ.get("BENCH_EVENTS", "100000"))
    with (
        tempfile.TemporaryDirectory(prefix="lifesign-ingest-bench-") as tmp,
        EmbeddedBroker() as broker,
        embedded_postgres(Path(tmp) / "pg") as url,
    ):
        await upgrade(url, SPEC.migrations, SPEC.schema)
        engine = make_engine(url)
        sessions = make_sessions(engine)
        await register(sessions, min(20_000, count))
        # The handler reads the source from the topic name, so the bench uses the real one.
        topic = "feed.bank_card_password_change.v1"
        await ensure_topics(broker.bootstrap, [topic, "events.normalized.v1", "events.rejected.v1"])
        producer = Producer(broker.bootstrap)
        await producer.start()
        futures = [await producer.send(topic, record(i)) for i in range(count)]
        await asyncio.gather(*futures)
        ceilings, rates, per_cpu = [], [], []
        for _ in range(RUNS):
            ceilings.append(await raw_rate(broker.bootstrap, [topic], count))
            async with engine.begin() as connection:  # every run writes its lineage afresh
                await connection.execute(text("TRUNCATE ingest.event_lineage, ingest.feed_count"))
            rate, cpu_rate = await ingest_rate(broker.bootstrap, topic, count, sessions, producer)
            rates.append(rate)
            per_cpu.append(cpu_rate)
        await producer.stop()
        await engine.dispose()
    alone = [normalize_rate(min(count, 20_000), kafka=True) for _ in range(RUNS)]
    models = [normalize_rate(min(count, 20_000), kafka=False) for _ in range(RUNS)]
    print(f"BENCH ingest_events_per_second {statistics.median(rates):.0f} events/s")
    print(f"BENCH ingest_broker_raw_read {statistics.median(ceilings):.0f} msgs/s")
    print(f"BENCH ingest_events_per_cpu_second {statistics.median(per_cpu):.0f} events/s")
    print(f"BENCH ingest_normalize_in_process {statistics.median(alone):.0f} records/s")
    print(f"BENCH ingest_normalize_models_in_process {statistics.median(models):.0f} records/s")
    print(f"# load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    asyncio.run(main())
