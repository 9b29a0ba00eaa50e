"""Autogenerate an Alembic migration for one service against a scratch database.

Usage: python tools/makemigration.py <service> "<message>"
Applies the service's existing migrations to a fresh database on the machine's PostgreSQL,
then lets Alembic compare the models with it and write the difference as a new revision.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import uuid
from pathlib import Path

import asyncpg
from alembic import command

from lifesign.db import alembic_config, upgrade

SERVER = "postgresql://postgres@127.0.0.1:5432"


async def admin(sql: str) -> None:
    connection = await asyncpg.connect(f"{SERVER}/postgres")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def main(service: str, message: str) -> None:
    module = importlib.import_module(f"lifesign_{service.replace('-', '_')}.models")
    migrations = Path(module.__file__).parent / "migrations"  # type: ignore[arg-type]
    name = f"lifesign_makemigration_{uuid.uuid4().hex[:8]}"
    url = f"{SERVER.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(upgrade(url, migrations, module.SCHEMA))
        config = alembic_config(migrations, url, module.SCHEMA)
        command.revision(config, message=message, autogenerate=True)
    finally:
        asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
