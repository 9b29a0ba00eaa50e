"""Registry import (R-7.2) against a real PostgreSQL: chunks, clashes, the outbox."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign.clock import FixedClock
from lifesign.identity import FieldCipher, Pseudonymizer, key_from_text, make_id_number
from lifesign.testing import migrated
from lifesign_ingest import repository
from lifesign_ingest.api import import_registry
from lifesign_ingest.main import SPEC
from lifesign_ingest.models import messaging, pensioner

CLOCK = FixedClock(datetime(2026, 12, 3, 9, tzinfo=UTC))
ID_A = make_id_number("110105", date(1941, 3, 15), 11)
ID_B = make_id_number("310104", date(1950, 7, 2), 22)


@pytest.fixture
async def sessions(own_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(own_database, SPEC) as sessions:
        yield sessions


def registry(*rows: tuple[str, str, str]) -> list[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "个人编号",
            "姓名",
            "证件号码",
            "户籍所在地区划代码",
            "险种类型",
            "待遇状态",
            "待遇开始日期",
        ]
    )
    for person_id, name, id_number in rows:
        writer.writerow(
            [person_id, name, id_number, "110105", "企业职工", "正常发放", "2001-04-01"]
        )
    return out.getvalue().splitlines(keepends=True)


async def run_import(sessions: async_sessionmaker[AsyncSession], lines: list[str]):  # type: ignore[no-untyped-def]
    return await import_registry(
        lines,
        file="test.csv",
        sessions=sessions,
        pseudonymizer=Pseudonymizer(key_from_text("test")),
        cipher=FieldCipher(key_from_text("test-cipher")),
        clock=CLOCK,
    )


async def count(sessions: async_sessionmaker[AsyncSession], table: object) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]


async def test_registry_import_reports_clashes_and_publishes_each_pensioner_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    result = await run_import(
        sessions,
        registry(
            ("P1", "张建国", ID_A),
            ("P1", "王秀英", ID_B),  # the same person number for another id number
            ("P1", "张建國", ID_A.lower()),  # the same pensioner again: an update
            ("P2", "王秀英", "110105194103150000"),  # a wrong check digit
        ),
    )
    assert (result.rows, result.imported) == (4, 1)
    errors = sorted((e.row, e.person_id, e.reason.split(":")[0]) for e in result.errors)
    assert errors == [(3, "P1", "person_id"), (5, "P2", "id_number")]
    assert "check digit" in next(e.reason for e in result.errors if e.row == 5)
    assert await count(sessions, pensioner) == 1
    assert await count(sessions, messaging.outbox) == 1

    # A later file may not give P1's number to someone else either.
    again = await run_import(sessions, registry(("P1", "王秀英", ID_B), ("P2", "王秀英", ID_B)))
    assert [e.reason for e in again.errors] == [
        "person_id: already registered with another id number"
    ]
    assert again.imported == 1
    assert await count(sessions, pensioner) == 2


async def test_registry_corrections_are_listed_masked_and_cleared_by_a_good_row_r_7_2(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    bad_id = ID_B[:17] + ("0" if ID_B[17] != "0" else "1")
    first = await run_import(sessions, registry(("P1", "张建国", ID_A), ("P2", "王秀英", bad_id)))
    assert [(e.row, e.person_id) for e in first.errors] == [(3, "P2")]
    async with sessions() as session:
        listed = await repository.corrections(session, None, 100)
    assert [(c["file"], c["row"], c["person_id"]) for c in listed] == [("test.csv", 3, "P2")]
    assert (listed[0]["id_masked"], listed[0]["name_masked"]) == (
        bad_id[:6] + "********" + bad_id[-4:],
        "王**",
    )
    assert "check digit" in listed[0]["reason"]
    assert bad_id not in str(listed) and "王秀英" not in str(listed)

    await run_import(sessions, registry(("P2", "王秀英", ID_B)))  # the corrected record
    async with sessions() as session:
        assert await repository.corrections(session, None, 100) == []
