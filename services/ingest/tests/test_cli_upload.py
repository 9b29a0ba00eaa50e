"""``lifesign upload``: a department's file sent to a running ingest (uvicorn on loopback,
real database and broker), its counts printed and its error file written."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from lifesign.bus import ensure_topics
from lifesign.cli import app
from lifesign.identity import make_id_number
from lifesign.service import create_app
from lifesign.topics import EVENTS_NORMALIZED, EVENTS_REJECTED
from lifesign_ingest.main import SPEC, IngestSettings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def ingest_url(kafka_bootstrap: str, own_database: str) -> Iterator[str]:
    asyncio.run(ensure_topics(kafka_bootstrap, [EVENTS_NORMALIZED, EVENTS_REJECTED]))
    port = _free_port()
    settings = IngestSettings(
        kafka_bootstrap=kafka_bootstrap, database_url=own_database, http_port=port
    )
    server = uvicorn.Server(
        uvicorn.Config(create_app(SPEC, settings), port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "ingest did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_lifesign_upload_prints_counts_and_writes_the_error_file(
    ingest_url: str, tmp_path: Path
) -> None:
    good = make_id_number("110105", date(1941, 3, 15), 11)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    feed = tmp_path / "deaths.csv"
    feed.write_text(
        "记录编号,证件号码,姓名,发生时间,死亡日期,火化日期\n"
        f"c-1,{good},张建国,2026-11-30 10:00,2026-11-28,2026-11-30\n"
        f"c-2,{bad},张建国,2026-11-30,2026-11-28,2026-11-30\n",
        encoding="gbk",
    )
    errors = tmp_path / "errors.csv"
    result = CliRunner().invoke(
        app,
        [
            "upload",
            "funeral_cremation",
            str(feed),
            "--encoding",
            "gbk",
            "--ingest",
            ingest_url,
            "--errors",
            str(errors),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "deaths.csv: 2 rows, 1 accepted, 1 rejected" in result.output
    lines = errors.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row,record_id,reason"
    assert lines[1].startswith("3,c-2,id_number:") and "check digit" in lines[1]

    refused = CliRunner().invoke(
        app, ["upload", "funeral_cremation", str(feed), "--ingest", ingest_url]
    )
    assert refused.exit_code != 0
    assert "not valid utf-8" in refused.output
