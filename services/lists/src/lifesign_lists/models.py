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
    Column("last_proof_method", String(16)),
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

# Projection of registry.pensioners.v1: the base information the push needs and the
# residence that decides which office it goes to (异地, R-4.6). No plaintext identity: the
# personal fields are asked of ingest when an export is made.
pensioner = Table(
    "pensioner",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("id_type", String(4), nullable=False),
    Column("id_masked", String(32), nullable=False),
    Column("name_masked", String(64), nullable=False),
    Column("insurance_type", String(32), nullable=False),
    Column("benefit_status", String(16), nullable=False),
    Column("retirement_date", Date),
    Column("registration_region", String(6), nullable=False),
    Column("residence_region", String(6), index=True),
    Column("benefit_region", String(6), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
