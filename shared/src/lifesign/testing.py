"""Pytest plugin (``-p lifesign.testing``): real PostgreSQL and a real Tansu broker.

* ``database_url``: a fresh database per test run on the machine's PostgreSQL
  (127.0.0.1:5432, user postgres, trust auth; ``LIFESIGN_TEST_PG`` overrides the server),
  dropped at the end of the run.
* ``kafka_bootstrap``: a Tansu broker started for the session (memory storage).

No mocks: every test that needs the bus or the database talks to the real thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign.db import make_engine, make_sessions, upgrade
from lifesign.runtime import EmbeddedBroker
from lifesign.service import ServiceSpec

_DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"


def _server() -> str:
    return os.environ.get("LIFESIGN_TEST_PG", _DEFAULT_SERVER)


def _admin(sql: str) -> None:
    async def run() -> None:
        connection = await asyncpg.connect(f"{_server()}/postgres")
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    # A private loop in a worker thread: fixtures may run while pytest-asyncio's loop runs.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """Create a database on the test server; drop it on exit. Yields its asyncpg URL."""
    name = f"lifesign_test_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{_server().replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A brand-new database for this test run, as an asyncpg SQLAlchemy URL."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def own_database() -> Iterator[str]:
    """A database of the test's own, for tests whose services share fixed schemas."""
    with fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Tansu broker for the whole session."""
    log = Path(tmp_path_factory.mktemp("tansu")) / "tansu.log"
    with EmbeddedBroker(log_path=log) as broker:
        yield broker.bootstrap


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[str]:
    """A broker of the test's own, for tests that start services on the fixed topics."""
    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as broker:
        yield broker.bootstrap


@pytest.fixture
async def unique() -> AsyncIterator[str]:
    """A short unique suffix for topic and group names, so tests do not share state."""
    yield uuid.uuid4().hex[:8]


@contextlib.asynccontextmanager
async def migrated(url: str, spec: ServiceSpec) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on ``url`` with a service's migrations applied (for its database tests)."""
    await upgrade(url, spec.migrations, spec.schema)
    engine = make_engine(url)
    try:
        yield make_sessions(engine)
    finally:
        await engine.dispose()
