"""The lists service's tables (schema ``lists``)."""

from sqlalchemy import Boolean, Column, Date, DateTime, Integer, String, Table

from lifesign.db import service_metadata

SCHEMA = "lists"
metadata = service_metadata(SCHEMA)

# Projection of state.changes.v1: each pensioner's current status.
person_status = Table(
    "person_status",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("status", String(16), nullable=False, index=True),
    Column("rule", String(32), nullable=False),
    Column("conflict", String(300)),
    Column("hold_payment", Boolean, nullable=False),
    Column("validity_end", Date),
    Column("last_proof_of_life_at", DateTime(timezone=True)),
    Column("benefit_region", String(6), index=True),
    Column("residence_region", String(6), index=True),
    Column("version", Integer, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# Every change, so that the lists can be drawn for any past date.
status_history = Table(
    "status_history",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("as_of", Date, nullable=False, index=True),
    Column("validity_end", Date),
    Column("benefit_region", String(6)),
    Column("residence_region", String(6)),
)
