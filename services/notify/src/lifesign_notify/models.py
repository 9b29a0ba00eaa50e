"""The notify service's tables (schema ``notify``)."""

from sqlalchemy import Column, Date, DateTime, String, Table, func
from sqlalchemy.dialects.postgresql import UUID

from lifesign.db import service_metadata

SCHEMA = "notify"
metadata = service_metadata(SCHEMA)

# Reminders due: one per state change that calls for one, keyed deterministically.
reminder = Table(
    "reminder",
    metadata,
    Column("reminder_id", UUID(as_uuid=True), primary_key=True),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("validity_end", Date),
    Column("cause_change_id", UUID(as_uuid=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
