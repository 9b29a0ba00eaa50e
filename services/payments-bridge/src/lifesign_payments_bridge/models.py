"""The payments bridge's tables (schema ``payments``)."""

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, String, Table
from sqlalchemy.dialects.postgresql import JSONB, UUID

from lifesign.db import service_metadata
from lifesign.messaging import messaging_tables

SCHEMA = "payments"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

# What the bridge has told the payment system about each pensioner.
payment_state = Table(
    "payment_state",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("suspended", Boolean, nullable=False),
    Column("suspended_since", Date),
    Column("suspension_rule", String(32)),
    Column("last_version", Integer, nullable=False),
    # A prison term fell within the suspension: its restoration pays no arrears (policy).
    Column("prison_served", Boolean, nullable=False, server_default="false"),
)

# Every command issued (R-7.9 suspend, R-7.11 restore with arrears), for audit.
command = Table(
    "command",
    metadata,
    Column("command_id", UUID(as_uuid=True), primary_key=True),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("arrears_from", Date),
    Column("reason", String(300), nullable=False),
    Column("cause_change_id", UUID(as_uuid=True), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("payload", JSONB, nullable=False),
)
