"""Set-based writes (``bulk_insert`` / ``bulk_update``) against a real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncEngine

from lifesign.db import bulk_insert, bulk_update, fetch, make_engine, make_sessions


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


async def scratch(engine: AsyncEngine, schema: str) -> Table:
    metadata = MetaData(schema=schema)
    table = Table(
        "thing",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("name", String(16), nullable=False),
        Column("day", Date),
        Column("at", DateTime(timezone=True)),
        Column("flag", Boolean),
        Column("amount", Integer),
        Column("blob", LargeBinary),
        Column("doc", JSONB),
    )
    async with engine.begin() as connection:
        await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        await connection.run_sync(metadata.create_all)
    return table


def row(n: int, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "id": uuid.UUID(int=n),
        "name": f"n{n}",
        "day": date(2026, 1, n),
        "at": datetime(2026, 1, n, 8, tzinfo=UTC),
        "flag": n % 2 == 0,
        "amount": n,
        "blob": bytes([n, 0, 255]),
        "doc": {"n": n, "名": "张三", "list": [1, None]},
    }
    values.update(overrides)
    return values


async def test_bulk_insert_round_trips_every_type_and_skips_conflicts(
    engine: AsyncEngine, unique: str
) -> None:
    table = await scratch(engine, f"bulk_{unique}")
    sessions = make_sessions(engine)
    async with sessions.begin() as session:
        first = await bulk_insert(
            session, table, [row(1), row(2, day=None, doc=None)], returning=["id"]
        )
        assert {r["id"] for r in first} == {uuid.UUID(int=1), uuid.UUID(int=2)}
    async with sessions.begin() as session:
        again = await bulk_insert(
            session,
            table,
            [row(2, name="changed"), row(3)],
            on_conflict="nothing",
            returning=["id"],
        )
        assert [r["id"] for r in again] == [uuid.UUID(int=3)]  # 2 existed: skipped, not changed
        stored = {r.id: r for r in await session.execute(select(table))}
    assert stored[uuid.UUID(int=1)].doc == {"n": 1, "名": "张三", "list": [1, None]}
    assert stored[uuid.UUID(int=1)].blob == bytes([1, 0, 255])
    assert stored[uuid.UUID(int=1)].at == datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert stored[uuid.UUID(int=2)].name == "n2" and stored[uuid.UUID(int=2)].day is None
    assert stored[uuid.UUID(int=2)].doc is None


async def test_bulk_update_sets_only_the_given_columns_of_matching_rows(
    engine: AsyncEngine, unique: str
) -> None:
    table = await scratch(engine, f"bulk_{unique}")
    sessions = make_sessions(engine)
    async with sessions.begin() as session:
        await bulk_insert(session, table, [row(1), row(2)])
        await bulk_update(
            session,
            table,
            "id",
            [
                {"id": uuid.UUID(int=1), "amount": 10, "doc": {"x": 1}},
                {"id": uuid.UUID(int=9), "amount": 90, "doc": None},  # no such row: nothing
            ],
        )
        stored = {r.id: r for r in await session.execute(select(table))}
    assert stored[uuid.UUID(int=1)].amount == 10 and stored[uuid.UUID(int=1)].doc == {"x": 1}
    assert stored[uuid.UUID(int=1)].name == "n1"  # untouched
    assert stored[uuid.UUID(int=2)].amount == 2
    assert len(stored) == 2


async def test_nothing_to_write_is_no_statement(engine: AsyncEngine, unique: str) -> None:
    table = await scratch(engine, f"bulk_{unique}")
    async with make_sessions(engine).begin() as session:
        assert await bulk_insert(session, table, [], returning=["id"]) == []
        await bulk_update(session, table, "id", [])


@pytest.mark.parametrize("path", ["copy", "unnest", "returning", "update", "fetch"])
async def test_statements_on_the_driver_belong_to_the_sessions_transaction(
    engine: AsyncEngine, unique: str, path: str
) -> None:
    """Every set-based statement goes around SQLAlchemy to the session's asyncpg
    connection, as the first statement of its transaction too: it must still roll back
    with the session (a statement sent before BEGIN would commit on its own)."""
    table = await scratch(engine, f"bulk_{unique}")
    sessions = make_sessions(engine)
    async with sessions.begin() as session:
        await bulk_insert(session, table, [row(9)])
    async with sessions() as session, session.begin():
        if path == "copy":
            await bulk_insert(session, table, [row(1), row(2)])
        elif path == "unnest":
            await bulk_insert(session, table, [row(1)], on_conflict="nothing")
        elif path == "returning":
            assert len(await bulk_insert(session, table, [row(1)], returning=["id"])) == 1
        elif path == "update":
            await bulk_update(session, table, "id", [{"id": uuid.UUID(int=9), "amount": 0}])
        else:
            found = await fetch(
                session,
                f'DELETE FROM "{table.schema}".thing WHERE amount = $1 RETURNING id',
                9,
            )
            assert [r["id"] for r in found] == [uuid.UUID(int=9)]
        await session.rollback()
    async with sessions() as session:
        stored = (await session.execute(select(table.c.id, table.c.amount))).all()
    assert [tuple(r) for r in stored] == [(uuid.UUID(int=9), 9)]


@pytest.mark.parametrize("planner", [None, {}])
async def test_every_connection_plans_with_the_planner_settings(
    database_url: str, planner: dict[str, str] | None
) -> None:
    """A batch's key probes use the indexes only if the planner knows random reads are
    cheap (lifesign.db.PLANNER_SETTINGS); ``{}`` keeps the server's own value."""
    engine = (
        make_engine(database_url) if planner is None else make_engine(database_url, planner=planner)
    )
    try:
        async with engine.connect() as connection:
            shown = (
                await connection.execute(
                    text("SELECT setting, source FROM pg_settings WHERE name = 'random_page_cost'")
                )
            ).one()
    finally:
        await engine.dispose()
    if planner is None:
        assert tuple(shown) == ("1.1", "client")
    else:
        assert shown.source != "client"
