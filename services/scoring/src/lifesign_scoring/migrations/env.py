"""Alembic environment of the scoring service: its own schema, its own version table."""

from alembic import context

from lifesign.db import run_migrations_online
from lifesign_scoring.models import metadata

run_migrations_online(context.config, metadata)
