"""The R-7.6.1 push (API, CSV, XLSX) on the running lists and ingest services: a real
database, a real broker, the registry imported through ingest and read back from the
registry topic, the personal fields disclosed by ingest."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from openpyxl import load_workbook

from lifesign.bus import Batch, Envelope, ensure_topics
from lifesign.catalogue import CertificationMethod
from lifesign.certification import StateChange, Status
from lifesign.events import PensionerRecord
from lifesign.identity import make_id_number
from lifesign.service import create_app, running
from lifesign.topics import EVENTS_NORMALIZED, EVENTS_REJECTED, REGISTRY_PENSIONERS
from lifesign_ingest.main import SPEC as INGEST
from lifesign_ingest.main import IngestSettings
from lifesign_lists.consumers import on_registry_pensioner, on_state_change
from lifesign_lists.main import SPEC as LISTS
from lifesign_lists.main import ListsSettings
from lifesign_lists.push import PUSH_COLUMNS, IngestContacts

CLOCK = "2026-12-03T09:00:00+08:00"
HEADER = (
    "person_id,name,id_type,id_number,sex,birth_date,phone,registration_region,"
    "registration_street,registration_address,residence_region,residence_street,"
    "residence_address,retirement_date,insurance_type,benefit_status,benefit_start,"
    "benefit_region,monthly_benefit,last_certified_on"
)
# Lives in 410225 (兰考县), paid by 410224 (开封县): 异地, on 410225's push.
AWAY = make_id_number("410224", date(1945, 4, 25), 26)
# Lives and is paid in 410225.
HOME = make_id_number("410225", date(1950, 1, 2), 11)
# Lives elsewhere: on another office's push.
ELSEWHERE = make_id_number("410102", date(1948, 8, 8), 13)
ROWS = [
    f"P1,刘淑霞,01,{AWAY},F,1945-04-25,15122593514,410224,龙王庙乡,开封县龙王庙乡孙庄村10组,"
    f"410225,王庄镇,兰考县王庄镇黄岗村2组86号,2000-04-25,enterprise,normal,2000-05-01,"
    f"410224,2100.00,2025-06-24",
    f"P2,王建国,01,{HOME},M,1950-01-02,13800001111,410225,城关镇,兰考县城关镇1号,"
    f"410225,城关镇,兰考县城关镇1号,2010-01-02,urban_rural_resident,normal,2010-02-01,"
    f"410225,180.00,2025-07-01",
    f"P3,张三,01,{ELSEWHERE},M,1948-08-08,13800002222,410102,,郑州市中原区1号,"
    f",,,2008-08-08,enterprise,normal,2008-09-01,410102,3000.00,2025-07-01",
]


async def registry_records(bootstrap: str, pseudonyms: set[str]) -> list[PensionerRecord]:
    consumer = AIOKafkaConsumer(
        REGISTRY_PENSIONERS,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: dict[str, PensionerRecord] = {}
    try:
        for _ in range(40):
            batches = await consumer.getmany(timeout_ms=250)
            for record in (r for part in batches.values() for r in part):
                value = PensionerRecord.model_validate_json(record.value or b"")
                if value.pseudonym in pseudonyms:
                    found[value.pseudonym] = value
            if len(found) == len(pseudonyms):
                break
    finally:
        await consumer.stop()
    return list(found.values())


def change(pseudonym: str, status: Status, region: str) -> StateChange:
    return StateChange(
        change_id=uuid.uuid4(),
        version=2,
        pseudonym=pseudonym,
        from_status=Status.WARNING,
        to_status=status,
        rule="R-6.4",
        hold_payment=False,
        validity_start=date(2025, 7, 1),
        validity_end=date(2026, 7, 1),
        last_proof_of_life_at=datetime(2025, 7, 1, 2, tzinfo=UTC),
        last_proof_method=CertificationMethod.BIOMETRIC,
        as_of=date(2026, 7, 1),
        changed_at=datetime(2026, 7, 1, tzinfo=UTC),
        benefit_region=region,
    )


@pytest.fixture
async def lists(kafka_bootstrap: str, own_database: str) -> AsyncIterator[httpx.AsyncClient]:
    await ensure_topics(kafka_bootstrap, [EVENTS_NORMALIZED, EVENTS_REJECTED, REGISTRY_PENSIONERS])
    ingest_settings = IngestSettings(
        kafka_bootstrap=kafka_bootstrap,
        database_url=own_database,
        clock=CLOCK,
        pull_tick_seconds=3600,
    )
    ingest_app = create_app(INGEST, ingest_settings)
    lists_settings = ListsSettings(
        kafka_bootstrap=kafka_bootstrap, database_url=own_database, clock=CLOCK
    )
    lists_app = create_app(LISTS, lists_settings)
    async with running(INGEST, ingest_settings) as ingest, running(LISTS, lists_settings) as ls:
        ingest_app.state.runtime = ingest
        lists_app.state.runtime = ls
        to_ingest = httpx.ASGITransport(app=ingest_app)
        async with httpx.AsyncClient(transport=to_ingest, base_url="http://ingest") as http:
            body = "\n".join([HEADER, *ROWS]).encode()
            imported = (await http.post("/registry/import", content=body)).json()
            assert imported["imported"] == 3, imported
        who = {n: ingest_settings.pseudonymizer.person(n) for n in (AWAY, HOME, ELSEWHERE)}
        records = await registry_records(kafka_bootstrap, set(who.values()))
        async with ls.sessions.begin() as session:
            registry = [Envelope(r, "t", 0, i, None, [], 0) for i, r in enumerate(records)]
            await on_registry_pensioner(session, Batch(registry))
            changes = [
                change(who[AWAY], Status.PENDING, "410224"),
                change(who[HOME], Status.SUSPENDED, "410225"),
                change(who[ELSEWHERE], Status.PENDING, "410102"),
            ]
            moved = [Envelope(c, "t", 0, i, None, [], 0) for i, c in enumerate(changes)]
            await on_state_change(session, Batch(moved))
        ls.parts["contacts"] = IngestContacts("http://ingest", transport=to_ingest)
        transport = httpx.ASGITransport(app=lists_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lists") as http:
            yield http


async def test_the_push_goes_to_the_office_of_residence_with_every_r_7_6_1_field(
    lists: httpx.AsyncClient,
) -> None:
    rows = (await lists.get("/lists/pending/push", params={"office": "410225"})).json()
    assert [r["person_id"] for r in rows] == ["P1", "P2"]  # not P3: lives in 410102
    away, home = rows
    assert set(away) == {key for key, _ in PUSH_COLUMNS} | {"pseudonym"}
    assert away["id_number"] == AWAY and away["name"] == "刘淑霞"  # disclosed by ingest
    assert away["phone"] == "15122593514" and away["street"] == "王庄镇"
    assert away["residence_address"] == "兰考县王庄镇黄岗村2组86号"
    assert away["other_region"] == "是" and away["benefit_region"] == "410224"  # 异地
    assert away["certification_status"] == "待核实"
    assert away["validity_expiry_month"] == "2026-06"
    assert away["certification_source"] == "生物特征认证"
    assert away["last_certified_at"] == "2025-07-01 10:00"
    assert away["person_category"] == "企业职工" and away["benefit_status"] == "正常发放"
    assert home["other_region"] == "否" and home["certification_status"] == "暂停(待核实)"
    one_street = (
        await lists.get("/lists/pending/push", params={"office": "410225", "street": "城关镇"})
    ).json()
    assert [r["person_id"] for r in one_street] == ["P2"]


async def test_the_push_exports_as_csv_and_xlsx_with_chinese_headers(
    lists: httpx.AsyncClient,
) -> None:
    response = await lists.get("/lists/pending/push", params={"office": "410225", "format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel's cue for UTF-8
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == [header for _, header in PUSH_COLUMNS]
    assert table[0][:4] == ["个人编号", "姓名", "证件类型", "证件号码"]
    assert [row[3] for row in table[1:]] == [AWAY, HOME]

    response = await lists.get("/lists/pending/push", params={"office": "410225", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == [header for _, header in PUSH_COLUMNS]
    assert values[1][3] == AWAY  # an id number stays text, never 4.10224e17
    assert len(values) == 3


async def test_the_push_refuses_a_malformed_office_code(lists: httpx.AsyncClient) -> None:
    response = await lists.get("/lists/pending/push", params={"office": "4102"})
    assert response.status_code == 422


async def test_trends_count_each_list_at_regular_dates(lists: httpx.AsyncClient) -> None:
    points = (
        await lists.get(
            "/lists/trends",
            params={"from": "2026-06-24", "to": "2026-07-08", "every": 7, "region": "410225"},
        )
    ).json()
    assert [p["on"] for p in points] == ["2026-06-24", "2026-07-01", "2026-07-08"]
    assert points[0]["lists"] == {"eligible": 0, "pending": 0, "lost": 0}
    # By paying region: 410225 pays for HOME only (suspended -> the pending list).
    assert points[1]["lists"]["pending"] == 1 and points[1]["statuses"] == {"suspended": 1}
    bad = await lists.get("/lists/trends", params={"from": "2026-07-08", "to": "2026-06-24"})
    assert bad.status_code == 422
