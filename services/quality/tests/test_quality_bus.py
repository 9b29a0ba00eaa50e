"""Bad input for quality through a real broker (Tansu) and PostgreSQL: malformed JSON, wrong
types, an unknown source and a 3 MB attribute each get a clear outcome (dead letter with the
reason, or quarantine with the rule) and the partition goes on to the good event after them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import topics
from lifesign.bus import BatchConsumer, Producer, ensure_topics
from lifesign.clock import FixedClock
from lifesign.events import Channel, LifeEvent, PersonRef, Provenance, event_id_for
from lifesign.settings import TIMEZONE
from lifesign.testing import migrated
from lifesign_quality import repository
from lifesign_quality.consumers import NormalizedHandler, raw_bytes
from lifesign_quality.main import SPEC

NOW = datetime(2026, 1, 10, 9, tzinfo=TIMEZONE)


@pytest.fixture
async def sessions(own_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(own_database, SPEC) as sessions:
        yield sessions


def event(record_id: str, attributes: dict[str, object]) -> LifeEvent:
    return LifeEvent(
        event_id=event_id_for("funeral_cremation", record_id),
        source="funeral_cremation",
        person=PersonRef(
            pseudonym="c" * 64,
            name_digest="b" * 64,
            id_masked="110105********0011",
            name_masked="张*",
        ),
        occurred_at=NOW - timedelta(days=3),
        received_at=NOW,
        region="110105",
        attributes=attributes,
        provenance=Provenance(channel=Channel.KAFKA, source_record_id=record_id),
    )


async def read(bootstrap: str, topic: str) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[Any] = []
    try:
        for _ in range(10):
            batches = await consumer.getmany(timeout_ms=300, max_records=1000)
            found += [orjson.loads(r.value or b"null") for p in batches.values() for r in p]
    finally:
        await consumer.stop()
    return found


async def test_bad_input_never_stalls_the_partition(
    kafka_bootstrap: str, sessions: async_sessionmaker[AsyncSession], unique: str
) -> None:
    source_topic, dead = f"test.normalized.{unique}", f"test.rejected.{unique}"
    await ensure_topics(
        kafka_bootstrap,
        [source_topic, dead, topics.EVENTS_VALIDATED, topics.EVENTS_QUARANTINED],
        partitions=1,
    )
    good = event(f"good-{unique}", {"death_date": "2026-01-06", "cremation_date": "2026-01-08"})
    huge = event(f"huge-{unique}", {"death_date": "2026-01-06", "cremation_date": "9" * 3_000_000})
    wrong_types = orjson.loads(good.model_dump_json())
    wrong_types["attributes"] = ["not", "a", "mapping"]
    unknown = orjson.loads(good.model_dump_json())
    unknown["source"] = "street_lamp_sensor"
    messages = [
        b'{"event_id": "half a mess',
        orjson.dumps(wrong_types),
        orjson.dumps(unknown),
        huge.model_dump_json().encode(),
        good.model_dump_json().encode(),
    ]
    producer = Producer(kafka_bootstrap, client_id=f"test-{unique}")
    await producer.start()
    try:
        for value in messages:
            await (await producer.send(source_topic, value, key=b"k"))
        consumer: BatchConsumer[bytes] = BatchConsumer(
            name=f"test-quality-{unique}",
            topics=[source_topic],
            bootstrap=kafka_bootstrap,
            decode=raw_bytes,
            handler=NormalizedHandler(clock=FixedClock(NOW)),
            sessions=sessions,
            producer=producer,
            dead_letter_topic=dead,
        )
        task = asyncio.create_task(consumer.run())
        async with asyncio.timeout(60):
            while consumer.stats.received < len(messages):
                await asyncio.sleep(0.05)
        consumer.stop()
        await task
    finally:
        await producer.stop()

    assert consumer.stats.dead_lettered == 3
    letters = await read(kafka_bootstrap, dead)
    reasons = [str(letter["reason"]) for letter in letters]
    assert len(reasons) == 3 and all(r.startswith("not a LifeEvent: ") for r in reasons)
    assert "attributes" in reasons[1] and "street_lamp_sensor" in reasons[2]
    validated = await read(kafka_bootstrap, topics.EVENTS_VALIDATED)
    assert str(good.event_id) in {str(v.get("event_id")) for v in validated}
    held = [
        q
        for q in await read(kafka_bootstrap, topics.EVENTS_QUARANTINED)
        if q["event"]["event_id"] == str(huge.event_id)
    ]
    assert [f["rule_id"] for f in held[0]["failures"]][:2] == ["Q-DOM-01", "Q-DOM-03"]
    assert len(orjson.dumps(held[0])) < 10_000  # the 3 MB value is not carried along
    async with sessions() as session:
        rows = await repository.counts(session)
    assert sum(r["received"] for r in rows) == 5
    for r in rows:
        assert r["received"] == r["accepted"] + r["quarantined"] + r["rejected"] + r["duplicates"]
