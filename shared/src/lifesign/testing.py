"""Pytest plugin (``-p lifesign.testing``): real PostgreSQL and a real Tansu broker.

* ``database_url``: a fresh database per test run on the machine's PostgreSQL
  (127.0.0.1:5432, user postgres, trust auth; ``LIFESIGN_TEST_PG`` overrides the server),
  dropped at the end of the run.
* ``kafka_bootstrap``: a Tansu broker started for the session (memory storage).

No mocks: every test that needs the bus or the database talks to the real thing.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from lifesign.runtime import EmbeddedBroker

_DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"


def _server() -> str:
    return os.environ.get("LIFESIGN_TEST_PG", _DEFAULT_SERVER)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A brand-new database for this test run, as an asyncpg SQLAlchemy URL."""
    name = f"lifesign_test_{uuid.uuid4().hex[:10]}"
    server = _server()

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(f"{server}/postgres")
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Tansu broker for the whole session."""
    log = Path(tmp_path_factory.mktemp("tansu")) / "tansu.log"
    with EmbeddedBroker(log_path=log) as broker:
        yield broker.bootstrap


@pytest.fixture
async def unique() -> AsyncIterator[str]:
    """A short unique suffix for topic and group names, so tests do not share state."""
    yield uuid.uuid4().hex[:8]
