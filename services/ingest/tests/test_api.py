"""Ingest's HTTP API on the running service (its real composition root, a real database
and broker): catalogue search and metadata (R-8.2.3), streamed uploads with the error
file (R-7.3.1), unknown sources, lineage, pull job configuration, registry corrections."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from lifesign.bus import ensure_topics
from lifesign.identity import make_id_number
from lifesign.service import running
from lifesign.topics import EVENTS_NORMALIZED, EVENTS_REJECTED, REGISTRY_PENSIONERS
from lifesign_ingest.main import SPEC, IngestSettings

ID_A = make_id_number("110105", date(1941, 3, 15), 11)
HEADER = "record_id,id_number,name,occurred_at,death_date,cremation_date"


@pytest.fixture
async def client(kafka_bootstrap: str, own_database: str) -> AsyncIterator[httpx.AsyncClient]:
    await ensure_topics(kafka_bootstrap, [EVENTS_NORMALIZED, EVENTS_REJECTED, REGISTRY_PENSIONERS])
    settings = IngestSettings(
        kafka_bootstrap=kafka_bootstrap,
        database_url=own_database,
        clock="2026-12-03T09:00:00+08:00",
        pull_tick_seconds=3600,
    )
    from lifesign.service import create_app

    app = create_app(SPEC, settings)
    async with running(SPEC, settings) as runtime:
        app.state.runtime = runtime
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
            yield http


async def streamed(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 100):
        yield data[start : start + 100]


async def test_catalogue_is_listed_searched_and_described_r_8_2_3(
    client: httpx.AsyncClient,
) -> None:
    everything = (await client.get("/catalogue")).json()
    assert len(everything) == 49
    cremation = (await client.get("/catalogue", params={"q": "火化"})).json()
    assert [s["code"] for s in cremation] == ["funeral_cremation"]
    lost = (await client.get("/catalogue", params={"evidence": "direct_lost"})).json()
    assert lost and all(s["evidence"] == "direct_lost" for s in lost)
    banks = (await client.get("/catalogue", params={"department": "银行"})).json()
    assert banks and all(s["department_en"] == "Banks" for s in banks)
    by_field = (await client.get("/catalogue", params={"q": "card_last4"})).json()
    assert "bank_card_password_change" in [s["code"] for s in by_field]

    detail = (await client.get("/catalogue/funeral_cremation")).json()
    names = [f["name"] for f in detail["record_fields"]]
    assert names[:4] == ["record_id", "id_type", "id_number", "name"]
    assert "cremation_date" in names
    assert detail["channels"]["kafka"] == "feed.funeral_cremation.v1"
    assert detail["channels"]["csv_header_zh"][-4:] == [
        "死亡日期",
        "火化日期",
        "殡仪馆",
        "火化证明编号",
    ]
    assert detail["quality_report"]["service"] == "quality"
    assert detail["totals"] == {"received": 0, "accepted": 0, "rejected": 0, "days": 0}
    missing = await client.get("/catalogue/fortune_teller")
    assert missing.status_code == 404
    assert "unknown source 'fortune_teller'" in missing.json()["detail"]


async def test_upload_answer_error_file_volume_and_lineage_r_7_3_1(
    client: httpx.AsyncClient,
) -> None:
    tag = uuid.uuid4().hex[:6]
    bad_id = ID_A[:17] + ("0" if ID_A[17] != "0" else "1")
    data = "\n".join(
        [
            HEADER,
            f"{tag}-1,{ID_A},张建国,2026-11-30T10:00,2026-11-28,2026-11-30",
            f"{tag}-2,{bad_id},张建国,2026-11-30T10:00,2026-11-28,2026-11-30",
            f"{tag}-3,{ID_A},张建国,2026-11-30T10:00,2026-11-28",
        ]
    ).encode()
    answer = await client.post(
        "/feeds/funeral_cremation/upload",
        params={"file": "deaths.csv"},
        content=streamed(data),
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["rows"], body["accepted"], body["rejected"]) == (3, 1, 2)
    assert [e["row"] for e in body["errors"]] == [3, 4]

    errors = await client.get(body["errors_file"])
    assert errors.status_code == 200
    assert errors.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(errors.text)))
    assert rows[0] == ["row", "record_id", "reason"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("3", f"{tag}-2"), ("4", "")]
    assert "check digit" in rows[1][2]
    assert rows[2][2] == "5 cells, but the header has 6 columns"

    status = (await client.get(f"/uploads/{body['upload_id']}")).json()
    assert (status["status"], status["rows"], status["file"]) == ("done", 3, "deaths.csv")
    volume = (await client.get("/catalogue/funeral_cremation/volume")).json()
    assert [(v["day"], v["received"], v["accepted"], v["rejected"]) for v in volume] == [
        ("2026-12-03", 3, 1, 2)
    ]
    event_id = uuid.uuid5(
        uuid.UUID("6f1d2a3c-5b7e-4c1a-9e0f-2d6b8a4c1e37"), f"event\x1ffuneral_cremation\x1f{tag}-1"
    )
    lineage = (await client.get(f"/events/{event_id}/lineage")).json()
    assert (lineage["channel"], lineage["file"], lineage["row"]) == ("http_upload", "deaths.csv", 2)
    assert lineage["upload_id"] == body["upload_id"]


async def test_upload_refusals_are_clear(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/feeds/fortune_teller/upload", content=b"a,b\n")
    assert unknown.status_code == 404
    assert unknown.json()["detail"].startswith("unknown source 'fortune_teller': not in the")
    encoding = await client.post(
        "/feeds/funeral_cremation/upload", params={"encoding": "latin-9"}, content=b"x"
    )
    assert encoding.status_code == 400
    assert "encoding 'latin-9' is not supported" in encoding.json()["detail"]
    header = await client.post("/feeds/funeral_cremation/upload", content=b"id,name\n1,x\n")
    assert header.status_code == 400
    assert header.json()["detail"].startswith("wrong header for source funeral_cremation")
    gbk = await client.post(
        "/feeds/funeral_cremation/upload", content=("记录编号,姓名\n").encode("gbk")
    )
    assert gbk.status_code == 400
    assert "header (line 1): not valid utf-8" in gbk.json()["detail"]
    assert "encoding=gbk" in gbk.json()["detail"]


async def test_pull_jobs_are_configured_and_listed_r_8_2_3(client: httpx.AsyncClient) -> None:
    # Disabled: the scheduler leaves it alone (its first tick races with this test); a
    # manual run still runs it.
    spec: dict[str, object] = {
        "source": "fortune_teller",
        "url": "http://127.0.0.1:9/x",
        "every_seconds": 60,
        "enabled": False,
    }
    assert (await client.put("/jobs/j1", json=spec)).status_code == 404
    spec["source"] = "inpatient_record"
    spec["transform"] = {"rename": {"zyh": "record_id"}}
    assert (await client.put("/jobs/j1", json=spec)).status_code == 200
    (job,) = (await client.get("/jobs")).json()
    assert (job["job_id"], job["failures"], job["cursor"]) == ("j1", 0, None)
    assert job["transform"] == {"rename": {"zyh": "record_id"}, "drop": []}
    # Nothing listens on port 9: the run fails, and the failure is visible.
    run = (await client.post("/jobs/j1/run")).json()
    assert run["status"] == "failed" and run["error"]
    (job,) = (await client.get("/jobs")).json()
    assert (job["failures"], job["last_error"]) == (1, run["error"])
    runs = (await client.get("/jobs/j1/runs")).json()
    assert [(r["status"], r["attempt"]) for r in runs] == [("failed", 1)]
    assert (await client.post("/jobs/nope/run")).status_code == 404


async def test_registry_import_lists_corrections_masked_r_7_2(client: httpx.AsyncClient) -> None:
    registry = (
        "个人编号,姓名,证件号码,户籍所在地区划代码,险种类型,待遇状态,待遇开始日期,离退休日期\n"
        f"P1,张建国,{ID_A},110105,企业职工,正常发放,2001-04-01,2001-03-15\n"
        f"P2,王秀英,{ID_A[:6]}19500702002X,110105,企业职工,正常发放,2001-04-01,\n"
        f"P3,李四,{ID_A},110105,企业职工,正常发放,2001-04-01,2002-01-01\n"
    ).encode()
    answer = (
        await client.post("/registry/import", params={"file": "r.csv"}, content=registry)
    ).json()
    assert (answer["imported"], answer["rejected"]) == (1, 2)
    listed = (await client.get("/registry/corrections")).json()
    assert [(c["row"], c["person_id"]) for c in listed] == [(3, "P2"), (4, "P3")]
    assert listed[1]["reason"] == "retirement_date: after benefit_start (benefits follow it)"
    assert listed[1]["name_masked"] == "李*"
