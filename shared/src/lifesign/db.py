"""The database: SQLAlchemy 2 async engine on asyncpg, one schema per service.

Each service declares its tables on its own :class:`sqlalchemy.MetaData` bound to its
schema (ARCHITECTURE principle 3) and ships its Alembic migrations inside its package;
:func:`upgrade` applies them, serialised across replicas by an advisory lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, Table, make_url, text
from sqlalchemy.dialects.postgresql import Insert, insert
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
