"""Feed uploads over HTTP, streamed (R-7.3.1, R-8.2.2): CSV and JSON lines, row-by-row
rejections, GBK, wrong headers, oversized lines, the R-7.3.3.2 name check; against a real
PostgreSQL and a real Tansu broker."""

from __future__ import annotations

import re
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import topics
from lifesign.bus import Producer, ensure_topics
from lifesign.catalogue import get_source
from lifesign.clock import FixedClock
from lifesign.events import LifeEvent, event_id_for
from lifesign.identity import FieldCipher, Pseudonymizer, key_from_text, make_id_number
from lifesign.names import Reason
from lifesign.testing import migrated
from lifesign_ingest import repository
from lifesign_ingest.api import import_registry
from lifesign_ingest.intake import Intake
from lifesign_ingest.main import SPEC
from lifesign_ingest.models import event_lineage, feed_count, upload
from lifesign_ingest.service import MAX_RECORD_BYTES
from lifesign_ingest.upload import CHUNK_ROWS, FileFormat, Uploader, UploadRefused, physical_lines

CLOCK = FixedClock(datetime(2026, 12, 3, 9, tzinfo=UTC))
PSEUDONYMIZER = Pseudonymizer(key_from_text("test-upload"))
CIPHER = FieldCipher(key_from_text("test-upload-cipher"))
FUNERAL = get_source("funeral_cremation")
ID_A = make_id_number("110105", date(1941, 3, 15), 11)
ID_B = make_id_number("310104", date(1950, 7, 2), 22)
HEADER_ZH = "记录编号,证件号码,姓名,发生时间,区划代码,死亡日期,火化日期,殡仪馆"


@pytest.fixture
async def sessions(own_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(own_database, SPEC) as sessions:
        yield sessions


@pytest.fixture
async def uploader(
    sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str
) -> AsyncIterator[Uploader]:
    await ensure_topics(kafka_bootstrap, [topics.EVENTS_NORMALIZED])
    producer = Producer(kafka_bootstrap, client_id="test-upload")
    await producer.start()
    try:
        yield Uploader(
            Intake(pseudonymizer=PSEUDONYMIZER, cipher=CIPHER), sessions, producer, CLOCK
        )
    finally:
        await producer.stop()


async def body(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    """The bytes in small pieces, as a network delivers them (cut mid-character too)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def funeral_csv(*rows: str, header: str = HEADER_ZH) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def row(record_id: str, id_number: str = ID_A, name: str = "张建国") -> str:
    return f"{record_id},{id_number},{name},2026-11-30 10:00,110105,2026-11-28,2026-11-30,"


async def published(bootstrap: str, wanted: set[uuid.UUID]) -> dict[uuid.UUID, LifeEvent]:
    """The normalised events with these ids, read back from the broker."""
    consumer = AIOKafkaConsumer(
        topics.EVENTS_NORMALIZED,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: dict[uuid.UUID, LifeEvent] = {}
    try:
        for _ in range(100):
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    event = LifeEvent.model_validate_json(record.value or b"")
                    if event.event_id in wanted:
                        found[event.event_id] = event
            if set(found) == wanted:
                break
    finally:
        await consumer.stop()
    return found


async def test_csv_upload_publishes_good_rows_and_lists_bad_ones_r_7_3_1(
    uploader: Uploader, sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str
) -> None:
    tag = uuid.uuid4().hex[:6]
    data = funeral_csv(
        row(f"{tag}-1"),
        row(f"{tag}-2", ID_A[:17] + ("0" if ID_A[17] != "0" else "1")),  # bad check digit
        f'{tag}-3,{ID_B},"王,秀英",2026-11-30,110105,2026-11-28,2026-11-30,"第一\n殡仪馆"',
        f"{tag}-4,{ID_B},王秀英,not-a-time,110105,2026-11-28,2026-11-30,",
        f"{tag}-5,{ID_B},王秀英",  # too few cells
        "",  # a blank line is skipped
    )
    result = await uploader.run(
        body(data), source=FUNERAL, fmt=FileFormat.CSV, encoding="utf-8", file="f.csv"
    )
    assert (result.rows, result.accepted, result.rejected) == (5, 2, 3)
    reasons = {e.row: e.reason for e in result.first_errors}
    assert sorted(reasons) == [3, 6, 7]
    assert "check digit" in reasons[3]
    assert ID_A[:14] not in reasons[3]  # masked
    assert reasons[6].startswith("occurred_at:")
    assert reasons[7] == "3 cells, but the header has 8 columns"
    ids = {event_id_for("funeral_cremation", f"{tag}-{n}") for n in (1, 3)}
    events = await published(kafka_bootstrap, ids)
    assert set(events) == ids
    quoted = events[event_id_for("funeral_cremation", f"{tag}-3")]
    assert quoted.attributes["funeral_home"] == "第一\n殡仪馆"  # a quoted newline kept
    assert quoted.provenance.channel == "http_upload"
    assert (quoted.provenance.file, quoted.provenance.row) == ("f.csv", 4)
    async with sessions() as session:
        lineage = await repository.lineage_of(session, quoted.event_id)
        errors = [e async for e in repository.upload_errors(session, result.upload_id)]
        counts = await repository.feed_counts(session)
        status = await repository.upload_of(session, result.upload_id)
    assert lineage is not None
    assert (lineage["upload_id"], lineage["file"], lineage["row"]) == (result.upload_id, "f.csv", 4)
    assert [e[0] for e in errors] == [3, 6, 7]
    assert errors[0][1] == f"{tag}-2"
    assert [(c["received"], c["accepted"], c["rejected"]) for c in counts] == [(5, 2, 3)]
    assert status is not None and (status["status"], status["rows"]) == ("done", 5)


async def test_jsonl_upload_reports_malformed_json_and_wrong_types(uploader: Uploader) -> None:
    tag = uuid.uuid4().hex[:6]
    good = {
        "record_id": f"{tag}-1",
        "id_number": ID_A,
        "name": "張建國",  # traditional form, normalised
        "occurred_at": "2026-11-30T10:00:00",
        "attributes": {"death_date": "2026-11-28", "cremation_date": "2026-11-30"},
    }
    lines = [
        orjson.dumps(good),
        b'{"record_id": "x", "id_number": ',  # malformed
        orjson.dumps({**good, "record_id": f"{tag}-3", "occurred_at": 12.5, "name": ["x"]}),
        b"",
    ]
    result = await uploader.run(
        body(b"\n".join(lines)), source=FUNERAL, fmt=FileFormat.JSONL, encoding="utf-8", file="j"
    )
    assert (result.accepted, result.rejected) == (1, 2)
    reasons = {e.row: e.reason for e in result.first_errors}
    assert "Invalid JSON" in reasons[2]
    assert "name: Input should be a valid string" in reasons[3]


async def test_wrong_header_is_refused_whole_with_the_columns_named(uploader: Uploader) -> None:
    data = funeral_csv(row("h-1"), header="编号,证件号码,姓名,发生时间,死亡日期,shoe_size")
    with pytest.raises(UploadRefused) as caught:
        await uploader.run(
            body(data), source=FUNERAL, fmt=FileFormat.CSV, encoding="utf-8", file="h"
        )
    assert str(caught.value) == (
        "wrong header for source funeral_cremation: missing columns: record_id, "
        "cremation_date; unknown columns: '编号', 'shoe_size'"
    )


async def test_gbk_file_names_the_encoding_and_is_accepted_with_encoding_gbk(
    uploader: Uploader, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tag = uuid.uuid4().hex[:6]
    utf8_header = HEADER_ZH.encode()
    gbk_rows = (row(f"{tag}-1", name="欧阳娜娜") + "\n").encode("gbk")
    # UTF-8 header, GBK rows: each row is rejected naming the encoding and the way out.
    mixed = await uploader.run(
        body(utf8_header + b"\n" + gbk_rows),
        source=FUNERAL,
        fmt=FileFormat.CSV,
        encoding="utf-8",
        file="mixed.csv",
    )
    assert mixed.rejected == 1
    assert mixed.first_errors[0].row == 2
    assert re.match(
        r"not valid utf-8: byte 0x[0-9a-f]{2} at position \d+", mixed.first_errors[0].reason
    )
    assert "encoding=gbk" in mixed.first_errors[0].reason
    # A file wholly in GBK: the header already fails, so the upload is refused whole.
    whole = funeral_csv(row(f"{tag}-2", name="欧阳娜娜")).decode().encode("gbk")
    with pytest.raises(UploadRefused, match=r"header \(line 1\): not valid utf-8"):
        await uploader.run(
            body(whole), source=FUNERAL, fmt=FileFormat.CSV, encoding="utf-8", file="g"
        )
    accepted = await uploader.run(
        body(whole), source=FUNERAL, fmt=FileFormat.CSV, encoding="gbk", file="g"
    )
    assert (accepted.accepted, accepted.rejected) == (1, 0)
    async with sessions() as session:
        failed = await session.scalar(
            select(func.count()).select_from(upload).where(upload.c.status == "failed")
        )
    assert failed == 1  # the refused upload is on record with its error


async def test_upload_is_processed_in_chunks_and_marks_name_mismatches_r_7_3_3_2(
    uploader: Uploader, sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str
) -> None:
    await import_registry(
        [
            "个人编号,姓名,证件号码,户籍所在地区划代码,险种类型,待遇状态,待遇开始日期\n",
            f"P1,张建国,{ID_A},110105,企业职工,正常发放,2001-04-01\n",
        ],
        file="registry.csv",
        sessions=sessions,
        pseudonymizer=PSEUDONYMIZER,
        cipher=CIPHER,
        clock=CLOCK,
    )
    tag = uuid.uuid4().hex[:6]
    names = {0: "张建果", 1: "張建國", 2: "李秀英"}  # homophone, traditional form, another
    rows = [row(f"{tag}-{n}", name=names.get(n, "张建国")) for n in range(CHUNK_ROWS + 5)]
    result = await uploader.run(
        body(funeral_csv(*rows), 4096),
        source=FUNERAL,
        fmt=FileFormat.CSV,
        encoding="utf-8",
        file="c",
    )
    assert (result.rows, result.accepted) == (CHUNK_ROWS + 5, CHUNK_ROWS + 5)
    wanted = {event_id_for("funeral_cremation", f"{tag}-{n}") for n in range(4)}
    events = await published(kafka_bootstrap, wanted)
    checks = [events[event_id_for("funeral_cremation", f"{tag}-{n}")].name_check for n in range(4)]
    assert checks[0] is not None
    assert checks[0].reasons == [Reason.SAME_PINYIN, Reason.ONE_CHARACTER_APART]
    assert checks[1] is None  # 張建國 is 张建国 once normalised
    assert checks[2] is not None and checks[2].reasons == [] and checks[2].similarity == 0.0
    assert checks[3] is None
    dumped = events[event_id_for("funeral_cremation", f"{tag}-0")].model_dump_json()
    assert "张建果" not in dumped and "张建国" not in dumped  # names never leave ingest
    async with sessions() as session:
        lineage = await session.scalar(select(func.count()).select_from(event_lineage))
        counted = await session.scalar(select(func.sum(feed_count.c.accepted)))
    assert lineage == counted == CHUNK_ROWS + 5


async def test_physical_lines_never_hold_more_than_one_line() -> None:
    """The streaming promise: 60 MB through the line splitter with a small peak, and a line
    longer than the limit reported without being kept."""
    line = b"x" * 1023 + b"\n"

    async def stream() -> AsyncIterator[bytes]:
        yield b"a,b\r\n" + b"y" * (3 * MAX_RECORD_BYTES)  # an oversized second line
        yield b"\n"
        for _ in range(60 * 1024):
            yield line * 1
        yield b"last"

    tracemalloc.start()
    try:
        count, oversized, last = 0, [], b""
        async for item in physical_lines(stream()):
            count += 1
            if item.raw is None:
                oversized.append(item.number)
            else:
                last = item.raw
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (count, oversized, last) == (2 + 60 * 1024 + 1, [2], b"last")
    assert peak < 4 * MAX_RECORD_BYTES + (1 << 20)


async def test_an_undecryptable_registry_name_skips_the_hint_not_the_record(
    uploader: Uploader, sessions: async_sessionmaker[AsyncSession], kafka_bootstrap: str
) -> None:
    """A registry stored under another key (a rotation gone wrong): the record goes on
    without a name check; the matcher still sees the differing name digest."""
    await import_registry(
        [
            "个人编号,姓名,证件号码,户籍所在地区划代码,险种类型,待遇状态,待遇开始日期\n",
            f"P1,张建国,{ID_A},110105,企业职工,正常发放,2001-04-01\n",
        ],
        file="registry.csv",
        sessions=sessions,
        pseudonymizer=PSEUDONYMIZER,
        cipher=FieldCipher(key_from_text("another-key-entirely")),
        clock=CLOCK,
    )
    tag = uuid.uuid4().hex[:6]
    result = await uploader.run(
        body(funeral_csv(row(f"{tag}-1", name="张建果"))),
        source=FUNERAL,
        fmt=FileFormat.CSV,
        encoding="utf-8",
        file="k.csv",
    )
    assert (result.accepted, result.rejected) == (1, 0)
    wanted = event_id_for("funeral_cremation", f"{tag}-1")
    event = (await published(kafka_bootstrap, {wanted}))[wanted]
    assert event.name_check is None
    assert event.person.name_digest == PSEUDONYMIZER.name("张建果")
