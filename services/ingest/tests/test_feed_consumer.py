"""The Kafka channel end to end on a real Tansu broker and PostgreSQL: a department's own
librdkafka producer (confluent-kafka) publishes good and bad records; ingest's consumer
takes the good ones, dead-letters every bad one with its reason, never stalls, and its
counts balance (received = accepted + rejected)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import orjson
from confluent_kafka import Producer as DepartmentProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import topics
from lifesign.bus import BatchConsumer, DeadLetter, Producer, ensure_topics
from lifesign.clock import SystemClock
from lifesign.events import LifeEvent, event_id_for
from lifesign.identity import FieldCipher, Pseudonymizer, key_from_text, make_id_number
from lifesign_ingest import repository
from lifesign_ingest.consumers import DEAD_LETTER_KEEP_BYTES, FeedHandler
from lifesign_ingest.intake import Intake

KEY = key_from_text("test-feed-consumer")
FUNERAL = "feed.funeral_cremation.v1"
BANK = "feed.bank_card_password_change.v1"
UNKNOWN = "feed.fortune_teller.v1"  # a feed topic of a source not in the catalogue


def record(record_id: str, **extra: object) -> bytes:
    return orjson.dumps(
        {
            "record_id": record_id,
            "id_number": make_id_number("110105", date(1941, 3, 15), 11),
            "name": "張建國",
            "occurred_at": "2026-11-30T10:00:00+08:00",
            "attributes": {"death_date": "2026-11-28", "cremation_date": "2026-11-30"},
            **extra,
        }
    )


def publish_as_a_department(bootstrap: str, messages: list[tuple[str, bytes]]) -> None:
    """librdkafka, as a department's own system would publish (not aiokafka)."""
    producer = DepartmentProducer(
        {"bootstrap.servers": bootstrap, "message.max.bytes": 16 << 20, "acks": "all"}
    )
    failures: list[str] = []

    def delivered(error: object, _message: object) -> None:
        if error is not None:
            failures.append(str(error))

    for topic, value in messages:
        producer.produce(topic, value, on_delivery=delivered)
        producer.poll(0)
    assert producer.flush(30) == 0
    assert failures == []


async def test_department_feed_from_librdkafka_with_bad_input_of_every_kind(
    kafka_bootstrap: str,
    ingest_sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
    read_topic: Any,
) -> None:
    await ensure_topics(kafka_bootstrap, [FUNERAL, BANK, UNKNOWN])
    tag = uuid.uuid4().hex[:6]
    bank = orjson.loads(record(f"{tag}-bank"))
    bank["attributes"] = {"bank_code": "ICBC", "channel": "atm"}
    huge = record(f"{tag}-huge", attributes={"blob": "x" * (10 << 20)})
    messages = [
        (FUNERAL, record(f"{tag}-1")),
        (FUNERAL, b'{"record_id": "broken", "id_number": '),  # malformed JSON
        (FUNERAL, record(f"{tag}-types", occurred_at="yesterday", name=["a"])),  # wrong types
        (FUNERAL, huge),  # a 10 MB message
        (UNKNOWN, record(f"{tag}-unknown")),
        (BANK, orjson.dumps(bank)),
        (FUNERAL, record(f"{tag}-2")),  # after the poison: the partition moves on
    ]
    await asyncio.to_thread(publish_as_a_department, kafka_bootstrap, messages)

    intake = Intake(pseudonymizer=Pseudonymizer(KEY), cipher=FieldCipher(KEY))
    consumer: BatchConsumer[bytes] = BatchConsumer(
        name=f"test-ingest-{tag}",
        topics=[FUNERAL, BANK, UNKNOWN],
        bootstrap=kafka_bootstrap,
        decode=bytes,
        handler=FeedHandler(intake=intake, clock=SystemClock()),
        sessions=ingest_sessions,
        producer=producer,
    )
    task = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(60):
            while consumer.stats.received < len(messages):
                await asyncio.sleep(0.05)
    finally:
        consumer.stop()
        await task
    assert (consumer.stats.handled, consumer.stats.dead_lettered) == (3, 4)

    read = read_topic
    events = [LifeEvent.model_validate_json(v) for v in await read(topics.EVENTS_NORMALIZED)]
    wanted = {
        event_id_for("funeral_cremation", f"{tag}-1"),
        event_id_for("funeral_cremation", f"{tag}-2"),
        event_id_for("bank_card_password_change", f"{tag}-bank"),
    }
    assert wanted <= {e.event_id for e in events}
    letters = [
        DeadLetter.model_validate_json(v)
        for v in await read(topics.EVENTS_REJECTED)
        if f"test-ingest-{tag}".encode() in v
    ]
    assert len(letters) == 4
    by_kind = [letter.reason for letter in letters]
    assert any(r.startswith("fortune_teller: unknown source 'fortune_teller'") for r in by_kind)
    assert any("Invalid JSON" in r for r in by_kind)
    assert any("occurred_at" in r and "name: Input should be a valid string" in r for r in by_kind)
    big = next(letter for letter in letters if "bytes; the limit is" in letter.reason)
    assert (
        big.reason == f"funeral_cremation: record is {len(huge):,} bytes; the limit is 65,536 bytes"
    )
    # The copy is cut (on a character boundary), the reason says why.
    assert DEAD_LETTER_KEEP_BYTES - 4 < len(big.value.encode()) <= DEAD_LETTER_KEEP_BYTES
    assert big.value.startswith(f'{{"record_id":"{tag}-huge"')

    async with ingest_sessions() as session:
        counts = {c["source"]: c for c in await repository.feed_counts(session)}
    assert {s: (c["received"], c["accepted"], c["rejected"]) for s, c in counts.items()} == {
        "funeral_cremation": (5, 2, 3),
        "bank_card_password_change": (1, 1, 0),
        "fortune_teller": (1, 0, 1),
    }


async def test_kafka_documents_get_the_name_check_the_other_channels_get_r_7_3_3_2(
    ingest_sessions: async_sessionmaker[AsyncSession],
) -> None:
    # The Kafka channel checks names on documents, the others on events: the same checks,
    # only for registered people under another name, the registry's name decrypted here.
    from datetime import UTC, datetime

    from lifesign.catalogue import get_source
    from lifesign.events import FeedRecord, NameCheck, Provenance
    from lifesign_ingest.service import registry_row

    pseudonymizer, cipher = Pseudonymizer(KEY), FieldCipher(KEY)
    intake = Intake(pseudonymizer=pseudonymizer, cipher=cipher)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    registered = make_id_number("110105", date(1941, 3, 15), 11)
    stranger = make_id_number("110105", date(1942, 3, 15), 13)
    registry = {
        "person_id": "P1",
        "name": "张建国",
        "id_number": registered,
        "registration_region": "110105",
        "insurance_type": "enterprise",
        "benefit_status": "normal",
        "benefit_start": "2005-01-01",
    }
    row = registry_row(
        registry, pseudonymizer=pseudonymizer, cipher=cipher, today=now.date(), now=now
    )
    async with ingest_sessions.begin() as session:
        await repository.upsert_pensioners(session, [row], "test")
    cases = [
        (registered, "張建國"),
        (registered, "张建果"),
        (stranger, "李秀英"),
        (registered, "李秀英"),
    ]
    records = [
        FeedRecord.model_validate_json(record(f"r{n}", id_number=id_number, name=name))
        for n, (id_number, name) in enumerate(cases)
    ]
    source = get_source("funeral_cremation")
    documents = [
        intake.document(
            r,
            source=source,
            provenance={"channel": "kafka", "source_record_id": r.record_id},
            received_at=now,
        )
        for r in records
    ]
    normalised = [
        intake.normalise(
            r,
            source=source,
            provenance=Provenance(channel="kafka", source_record_id=r.record_id),
            received_at=now,
        )
        for r in records
    ]
    async with ingest_sessions.begin() as session:
        await intake.check_documents(session, documents)
        events = await intake.check_names(session, normalised)
    checks = [d["name_check"] for d, _ in documents]
    assert checks[0] is None  # the traditional form of the registered name
    assert checks[2] is None  # not a pensioner
    assert checks[1] is not None and checks[3] is not None
    assert [NameCheck.model_validate(c) if c else None for c in checks] == [
        e.name_check for e in events
    ]
