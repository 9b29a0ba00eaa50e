"""Scheduled pulls of interface data (R-8.2.2, R-8.2.3 task scheduling) against a real
department endpoint (``http.server`` on loopback in a thread), a real PostgreSQL and a
real Tansu broker: paging by cursor, the transformation rule, failures retried with
backoff and visible, and a restarted job that ingests nothing twice."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import topics
from lifesign.bus import DeadLetter, Producer
from lifesign.clock import FixedClock
from lifesign.events import LifeEvent, event_id_for
from lifesign.identity import FieldCipher, Pseudonymizer, key_from_text, make_id_number
from lifesign.messaging import Outbox
from lifesign_ingest import repository
from lifesign_ingest.intake import Intake
from lifesign_ingest.models import messaging
from lifesign_ingest.pull import ExtractRule, JobSpec, PullRunner, TransformRule

NOW = datetime(2026, 12, 3, 9, tzinfo=UTC)
KEY = key_from_text("test-pull")


class Department:
    """A civil-affairs endpoint: records by sequence number, paged with since/limit."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.failing = False
        self.broken_shape = False
        self.requests: list[dict[str, list[str]]] = []

    def add(self, tag: str, n: int, id_number: str) -> None:
        self.records.append(
            {
                "seq": n,
                "lsh": f"{tag}-{n}",
                "sfzh": id_number,
                "xm": "张建国",
                "swsj": "2026-11-30 10:00:00",
                "swrq": "2026-11-28",
                "hhrq": "2026-11-30",
                "internal_flag": "x",
            }
        )

    def answer(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        self.requests.append(query)
        if self.failing:
            return 500, {"error": "database maintenance"}
        if self.broken_shape:
            return 200, {"data": {}}
        since = int(query.get("since", ["0"])[0])
        limit = int(query["limit"][0])
        page = [r for r in self.records if r["seq"] > since][:limit]
        next_cursor = page[-1]["seq"] if page else since
        return 200, {"data": {"items": page, "next": next_cursor}}


@pytest.fixture
def department() -> Iterator[tuple[Department, str]]:
    dept = Department()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = dept.answer(parse_qs(urlparse(self.path).query))
            raw = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield dept, f"http://127.0.0.1:{server.server_address[1]}/deaths"
    finally:
        server.shutdown()
        server.server_close()


def runner(sessions: async_sessionmaker[AsyncSession], producer: Producer) -> PullRunner:
    """A fresh runner, as a restarted process would build it."""
    return PullRunner(
        intake=Intake(pseudonymizer=Pseudonymizer(KEY), cipher=FieldCipher(KEY)),
        sessions=sessions,
        producer=producer,
        clock=FixedClock(NOW),
        outbox=Outbox(messaging.outbox),
        retry_base_seconds=30,
    )


def job(url: str) -> dict[str, Any]:
    return JobSpec(
        source="funeral_cremation",
        url=url,
        every_seconds=3600,
        extract=ExtractRule(records_path="data.items", next_cursor_path="data.next", page_size=2),
        transform=TransformRule(
            rename={
                "lsh": "record_id",
                "sfzh": "id_number",
                "xm": "name",
                "swsj": "occurred_at",
                "swrq": "death_date",
                "hhrq": "cremation_date",
            },
            drop=["seq", "internal_flag"],
        ),
    ).model_dump(mode="json")


async def test_pull_pages_by_cursor_and_a_restart_ingests_nothing_twice_r_8_2_3(
    department: tuple[Department, str],
    ingest_sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
    read_topic: Any,
) -> None:
    dept, url = department
    tag = uuid.uuid4().hex[:6]
    for n in range(1, 6):
        dept.add(tag, n, make_id_number("110105", date(1940, 1, n), n))
    good = dept.records[2]["sfzh"]
    dept.records[2]["sfzh"] = good[:17] + ("1" if good[17] == "0" else "0")  # a wrong check digit
    async with ingest_sessions.begin() as session:
        await repository.upsert_job(session, "civil-deaths", job(url), NOW)

    first = await runner(ingest_sessions, producer).run("civil-deaths")
    assert (first.status, first.pages, first.fetched) == ("succeeded", 3, 5)
    assert (first.accepted, first.rejected, first.duplicates) == (4, 1, 0)
    assert (first.cursor_from, first.cursor_to) == (None, "5")
    assert first.next_run_at == NOW + timedelta(hours=1)
    assert [q.get("since") for q in dept.requests] == [None, ["2"], ["4"]]

    wanted = {event_id_for("funeral_cremation", f"{tag}-{n}") for n in (1, 2, 4, 5)}
    events = [LifeEvent.model_validate_json(v) for v in await read_topic(topics.EVENTS_NORMALIZED)]
    mine = [e for e in events if e.event_id in wanted]
    assert {e.event_id for e in mine} == wanted and len(mine) == 4
    assert mine[0].provenance.channel == "interface_pull"
    assert mine[0].provenance.job_id == "civil-deaths"
    assert mine[0].attributes == {"death_date": "2026-11-28", "cremation_date": "2026-11-30"}
    letters = [DeadLetter.model_validate_json(v) for v in await read_topic(topics.EVENTS_REJECTED)]
    mine_dead = [d for d in letters if d.topic == "pull:civil-deaths" and d.key == f"{tag}-3"]
    assert len(mine_dead) == 1 and "check digit" in mine_dead[0].reason

    # A restarted process resumes from the committed cursor: nothing is fetched again.
    again = await runner(ingest_sessions, producer).run("civil-deaths")
    assert (again.fetched, again.accepted, again.cursor_from) == (0, 0, "5")
    dept.add(tag, 6, make_id_number("110105", date(1940, 1, 6), 6))
    later = await runner(ingest_sessions, producer).run("civil-deaths")
    assert (later.fetched, later.accepted) == (1, 1)

    # Even if the cursor were lost, ingest's lineage keeps records from going out twice.
    async with ingest_sessions.begin() as session:
        await repository.move_cursor(session, "civil-deaths", None)
    rewound = await runner(ingest_sessions, producer).run("civil-deaths")
    assert (rewound.fetched, rewound.accepted, rewound.duplicates) == (6, 0, 5)
    async with ingest_sessions() as session:
        assert await Outbox(messaging.outbox).pending(session) == 0
        counts = await repository.feed_counts(session)
        runs = await repository.job_runs(session, "civil-deaths", 10)
    assert [(c["accepted"], c["rejected"]) for c in counts] == [(5, 2)]
    assert [r["status"] for r in runs] == ["succeeded"] * 4


async def test_failing_job_is_retried_with_backoff_and_its_failure_visible(
    department: tuple[Department, str],
    ingest_sessions: async_sessionmaker[AsyncSession],
    producer: Producer,
) -> None:
    dept, url = department
    tag = uuid.uuid4().hex[:6]
    dept.add(tag, 1, make_id_number("110105", date(1940, 2, 1), 1))
    async with ingest_sessions.begin() as session:
        await repository.upsert_job(session, "civil-deaths", job(url), NOW)
    dept.failing = True
    pull = runner(ingest_sessions, producer)
    assert [r.job_id for r in await pull.run_due()] == ["civil-deaths"]
    second = await pull.run("civil-deaths")
    assert second.status == "failed"
    assert "500 Internal Server Error" in (second.error or "")
    assert second.next_run_at == NOW + timedelta(seconds=60)  # 30 s, then doubled
    assert await pull.run_due() == []  # not due until the backoff has passed
    dept.failing, dept.broken_shape = False, True
    third = await pull.run("civil-deaths")
    assert third.error == "extraction: the answer has no 'data.items'"
    assert third.next_run_at == NOW + timedelta(seconds=120)
    async with ingest_sessions() as session:
        (state,) = await repository.jobs(session)
        runs = await repository.job_runs(session, "civil-deaths", 10)
    assert (state["failures"], state["last_error"]) == (3, third.error)
    assert [(r["status"], r["attempt"]) for r in runs] == [
        ("failed", 3),
        ("failed", 2),
        ("failed", 1),
    ]

    dept.broken_shape = False
    recovered = await pull.run("civil-deaths")
    assert (recovered.status, recovered.accepted) == ("succeeded", 1)
    async with ingest_sessions() as session:
        (state,) = await repository.jobs(session)
    assert (state["failures"], state["last_error"], state["cursor"]) == (0, None, "1")
    assert state["next_run_at"] == NOW + timedelta(hours=1)
