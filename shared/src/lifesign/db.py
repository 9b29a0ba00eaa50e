"""The database: SQLAlchemy 2 async engine on asyncpg, one schema per service.

Each service declares its tables on its own :class:`sqlalchemy.MetaData` bound to its
schema (ARCHITECTURE principle 3) and ships its Alembic migrations inside its package;
:func:`upgrade` applies them, serialised across replicas by an advisory lock.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from pydantic_core import to_json
from sqlalchemy import JSON, Column, MetaData, String, Table, make_url, text
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.expression import ClauseElement

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """The MetaData of one service: all its tables live in its own schema."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


#: Planner settings for every lifesign connection. A batch probes up to a few thousand
#: keys (``= ANY($1)``, ``UPDATE … FROM unnest``); with the default ``random_page_cost`` of
#: 4 (spinning disks) PostgreSQL hashes whole tables of up to a few hundred thousand rows
#: for that instead of probing their indexes: measured on the matcher with 100,000
#: registered people, 11 and 17 µs a row instead of 5 and 10. 1.1 is the usual value for
#: data in memory or on SSD; whole-table work (the sweep, the lists) still scans.
#: A deployment whose server is tuned already sets ``LIFESIGN_DATABASE_PLANNER={}``.
PLANNER_SETTINGS: Mapping[str, str] = {"random_page_cost": "1.1"}


def make_engine(
    url: str, *, pool_size: int = 5, planner: Mapping[str, str] = PLANNER_SETTINGS
) -> AsyncEngine:
    """An async engine; created in a service's lifespan, never at import. ``planner``:
    server settings sent with every connection (see :data:`PLANNER_SETTINGS`)."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=5,
        pool_pre_ping=True,
        connect_args={"server_settings": dict(planner)},
    )


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after the transaction (polar's habit).
    return async_sessionmaker(engine, expire_on_commit=False)


def sync_url(url: str) -> str:
    """The same database for tools that want a plain URL (psql, asyncpg.connect)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def alembic_config(migrations_dir: Path, url: str, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["schema"] = schema
    return config


async def upgrade(url: str, migrations_dir: Path, schema: str) -> None:
    """Apply a service's migrations up to head (Alembic runs in a worker thread)."""
    config = alembic_config(migrations_dir, url, schema)
    await asyncio.to_thread(command.upgrade, config, "head")


def run_migrations_online(config: Config, target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``.

    Creates the schema, keeps the version table inside it, and holds an advisory lock so
    two replicas starting together do not migrate at once.
    """
    schema = str(config.attributes.get("schema") or target_metadata.schema)
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not configured")

    def migrate(connection: Connection) -> None:
        from alembic import context

        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))

        def only_this_schema(name: str | None, kind: str, _parent: object) -> bool:
            # Autogenerate compares this service's schema only, never its neighbours'.
            return kind != "schema" or name == schema

        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=only_this_schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(migrate)
        finally:
            await engine.dispose()

    asyncio.run(main())


async def run_in_transaction(
    sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[None]]
) -> None:
    async with sessions.begin() as session:
        await work(session)


def replace_on_conflict(
    table: Table, values: Sequence[Mapping[str, Any]], *, where: Callable[[Any], Any] | None = None
) -> Insert:
    """``INSERT … ON CONFLICT (primary key) DO UPDATE`` that overwrites every given column.

    ``where`` receives the ``excluded`` row and returns a condition for the update (for
    example "only if newer"); without it the new values always win. Execute the result
    with ``values`` as the parameter list (one statement per batch).
    """
    statement = insert(table)
    key = [c.name for c in table.primary_key.columns]
    columns = [c for c in values[0] if c not in key] if values else []
    return statement.on_conflict_do_update(
        index_elements=key,
        set_={c: statement.excluded[c] for c in columns},
        where=where(statement.excluded) if where is not None else None,
    )


# --- Set-based statements: one per batch, with one array parameter per column -----------
#
# SQLAlchemy's executemany ("insertmanyvalues") builds the parameters of every row in
# Python, about 1 µs per cell; at tens of thousands of rows a second that is the whole
# budget. ``unnest`` sends one array per column instead (asyncpg encodes it in C) and the
# statement text depends only on the column names, so it is built once.
#
# These statements run on the session's own asyncpg connection (:func:`driver`), inside
# its transaction: SQLAlchemy's statement and per-row result processing cost about as much
# again as the statement itself (measured on the matcher: 5 to 8 µs a row), and a batch's
# hot statements need none of it. Rows come back as asyncpg Records (``r["column"]``).


async def driver(session: AsyncSession) -> Any:
    """The asyncpg connection under ``session``, with the session's transaction begun.

    SQLAlchemy sends BEGIN lazily, with the first statement through it; a statement sent
    around it before that would run (and commit) on its own, so begin it first."""
    connection = await session.connection()
    native = (await connection.get_raw_connection()).driver_connection
    if not native.is_in_transaction():  # type: ignore[union-attr]
        await connection.exec_driver_sql("SELECT 1")
    return native


def compiled(statement: ClauseElement) -> str:
    """A Core statement's SQL as asyncpg takes it (``$1``, ``$2``… in the order its bind
    parameters appear): build a hot query once with SQLAlchemy (the schema, quoting and
    types come from the tables), then run it with :func:`fetch`."""
    return str(statement.compile(dialect=_DIALECT))


async def fetch(session: AsyncSession, sql: str, *args: Any) -> list[Any]:
    """The rows of ``sql`` (``$1``-style parameters) as asyncpg Records, in the session's
    transaction: for the reads a batch makes per person (see :func:`driver`)."""
    connection = await driver(session)
    rows: list[Any] = await connection.fetch(sql, *args)
    return rows


_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


def _quoted(table: Table) -> str:
    return _DIALECT.identifier_preparer.format_table(table)


def _is_json(column: Column[Any]) -> bool:
    return isinstance(column.type, JSON)


def _unnest(table: Table, columns: Sequence[str]) -> tuple[list[str], str]:
    """``(select expressions, unnest($1, ...) AS u(...))`` for these columns of ``table``.

    Only identifiers from the table's metadata (quoted) enter the SQL text; every value is
    a bound array parameter."""
    casts, names, select = [], [], []
    for i, name in enumerate(columns):
        column = table.c[name]
        # JSON travels as text and is cast per row: an array of jsonb has no plain codec.
        # Strings travel as TEXT[]: a VARCHAR(n)[] cast checks every element's length once
        # more before the column's own assignment cast does (measured: about 1.7x slower).
        textual = _is_json(column) or isinstance(column.type, String)
        element = "TEXT" if textual else column.type.compile(dialect=_DIALECT)
        casts.append(f"CAST(${i + 1} AS {element}[])")
        names.append(f"u{i}")
        select.append(f"CAST(u{i} AS JSONB)" if _is_json(column) else f"u{i}")
    return select, f"unnest({', '.join(casts)}) AS u({', '.join(names)})"


@functools.cache
def _insert_sql(
    table: Table, columns: tuple[str, ...], conflict: str | None, returning: tuple[str, ...]
) -> str:
    select, source = _unnest(table, columns)
    target = ", ".join(_DIALECT.identifier_preparer.quote(c) for c in columns)
    sql = f"INSERT INTO {_quoted(table)} ({target}) SELECT {', '.join(select)} FROM {source}"  # noqa: S608
    if conflict == "nothing":
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(_DIALECT.identifier_preparer.quote(c) for c in returning)
    return sql


@functools.cache
def _update_sql(table: Table, key: str, columns: tuple[str, ...]) -> str:
    select, source = _unnest(table, (key, *columns))
    quote = _DIALECT.identifier_preparer.quote
    # The derived table's columns are named like the table's.
    aliases = ", ".join(f"{e} AS {quote(c)}" for e, c in zip(select, (key, *columns), strict=True))
    assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
    return (
        f"UPDATE {_quoted(table)} AS t SET {assignments} "  # noqa: S608
        f"FROM (SELECT {aliases} FROM {source}) AS v WHERE t.{quote(key)} = v.{quote(key)}"
    )


def _arrays(
    table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[list[Any]]:
    """One list of values per column, in the order of ``columns`` (``$1``, ``$2``…)."""
    arrays = []
    for name in columns:
        values = [row[name] for row in rows]
        if _is_json(table.c[name]):
            values = [None if v is None else to_json(v).decode() for v in values]
        arrays.append(values)
    return arrays


async def bulk_insert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    on_conflict: Literal["nothing"] | None = None,
    returning: Sequence[str] = (),
) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys) in one statement; the returned rows
    (asyncpg Records: ``r["column"]``) if ``returning`` names columns.
    ``on_conflict="nothing"`` skips rows whose key exists."""
    if not rows:
        return []
    columns = tuple(rows[0])
    if on_conflict is None and not returning:
        await _copy(session, table, columns, rows)
        return []
    statement = _insert_sql(table, columns, on_conflict, tuple(returning))
    connection = await driver(session)
    arrays = _arrays(table, columns, rows)
    if returning:
        returned: list[Any] = await connection.fetch(statement, *arrays)
        return returned
    await connection.execute(statement, *arrays)
    return []


async def bulk_update(
    session: AsyncSession, table: Table, key: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Set the other given columns of each row whose ``key`` matches, in one statement."""
    if not rows:
        return
    columns = tuple(c for c in rows[0] if c != key)
    connection = await driver(session)
    await connection.execute(
        _update_sql(table, key, columns), *_arrays(table, (key, *columns), rows)
    )


async def _copy(
    session: AsyncSession,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """A plain insert by binary COPY on the session's own connection (so inside its
    transaction): the cheapest way into PostgreSQL, for PostgreSQL and for Python."""
    connection = await driver(session)
    records = list(zip(*_arrays(table, columns, rows), strict=True))
    await connection.copy_records_to_table(
        table.name, schema_name=table.schema, columns=list(columns), records=records
    )
