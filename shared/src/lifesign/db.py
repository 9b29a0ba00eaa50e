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
from sqlalchemy import JSON, Column, MetaData, Row, String, Table, TextClause, make_url, text
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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


def make_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    """An async engine; created in a service's lifespan, never at import."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=5, pool_pre_ping=True)


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


# --- Set-based writes: one statement per batch with one array parameter per column -------
#
# SQLAlchemy's executemany ("insertmanyvalues") builds the parameters of every row in
# Python, about 1 µs per cell; at tens of thousands of rows a second that is the whole
# budget. ``unnest`` sends one array per column instead (asyncpg encodes it in C) and the
# statement text depends only on the column names, so it is built once.

_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


def _quoted(table: Table) -> str:
    return _DIALECT.identifier_preparer.format_table(table)


def _is_json(column: Column[Any]) -> bool:
    return isinstance(column.type, JSON)


def _unnest(table: Table, columns: Sequence[str]) -> tuple[list[str], str]:
    """``(select expressions, unnest(...) AS u(...))`` for these columns of ``table``.

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
        casts.append(f"CAST(:c{i} AS {element}[])")
        names.append(f"u{i}")
        select.append(f"CAST(u{i} AS JSONB)" if _is_json(column) else f"u{i}")
    return select, f"unnest({', '.join(casts)}) AS u({', '.join(names)})"


@functools.cache
def _insert_sql(
    table: Table, columns: tuple[str, ...], conflict: str | None, returning: tuple[str, ...]
) -> TextClause:
    select, source = _unnest(table, columns)
    target = ", ".join(_DIALECT.identifier_preparer.quote(c) for c in columns)
    sql = f"INSERT INTO {_quoted(table)} ({target}) SELECT {', '.join(select)} FROM {source}"  # noqa: S608
    if conflict == "nothing":
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(_DIALECT.identifier_preparer.quote(c) for c in returning)
    return text(sql)


@functools.cache
def _update_sql(table: Table, key: str, columns: tuple[str, ...]) -> TextClause:
    select, source = _unnest(table, (key, *columns))
    quote = _DIALECT.identifier_preparer.quote
    # The derived table's columns are named like the table's.
    aliases = ", ".join(f"{e} AS {quote(c)}" for e, c in zip(select, (key, *columns), strict=True))
    assignments = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
    return text(
        f"UPDATE {_quoted(table)} AS t SET {assignments} "  # noqa: S608
        f"FROM (SELECT {aliases} FROM {source}) AS v WHERE t.{quote(key)} = v.{quote(key)}"
    )


def _arrays(
    table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for i, name in enumerate(columns):
        values = [row[name] for row in rows]
        if _is_json(table.c[name]):
            values = [None if v is None else to_json(v).decode() for v in values]
        params[f"c{i}"] = values
    return params


async def bulk_insert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    on_conflict: Literal["nothing"] | None = None,
    returning: Sequence[str] = (),
) -> list[Row[Any]]:
    """Insert ``rows`` (dicts with the same keys) in one statement; the returned rows if
    ``returning`` names columns. ``on_conflict="nothing"`` skips rows whose key exists."""
    if not rows:
        return []
    columns = tuple(rows[0])
    if on_conflict is None and not returning:
        await _copy(session, table, columns, rows)
        return []
    statement = _insert_sql(table, columns, on_conflict, tuple(returning))
    result = await session.execute(statement, _arrays(table, columns, rows))
    return list(result) if returning else []


async def bulk_update(
    session: AsyncSession, table: Table, key: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Set the other given columns of each row whose ``key`` matches, in one statement."""
    if not rows:
        return
    columns = tuple(c for c in rows[0] if c != key)
    statement = _update_sql(table, key, columns)
    await session.execute(statement, _arrays(table, (key, *columns), rows))


async def _copy(
    session: AsyncSession,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """A plain insert by binary COPY on the session's own connection (so inside its
    transaction): the cheapest way into PostgreSQL, for PostgreSQL and for Python."""
    connection = await session.connection()
    # The driver opens the transaction lazily, on the first statement through it; COPY
    # goes around it, so make sure BEGIN has been sent (or COPY would commit on its own).
    await connection.exec_driver_sql("SELECT 1")
    raw = await connection.get_raw_connection()
    json_columns = {c for c in columns if _is_json(table.c[c])}
    records = [
        tuple(
            (None if row[c] is None else to_json(row[c]).decode()) if c in json_columns else row[c]
            for c in columns
        )
        for row in rows
    ]
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        table.name, schema_name=table.schema, columns=list(columns), records=records
    )
