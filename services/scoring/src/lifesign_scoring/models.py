"""The scoring service's tables (schema ``scoring``)."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from lifesign.db import service_metadata
from lifesign.messaging import messaging_tables

SCHEMA = "scoring"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

# Behaviour trail per person, source and day (R-7.5.2 behaviour features: kinds, frequency,
# period), built from auxiliary and unmatched evidence.
behaviour = Table(
    "behaviour",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("events", BigInteger, nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
)

# Base information of each pensioner (R-7.2, R-7.5.2.1 base attributes), from
# registry.pensioners.v1; the latest record wins.
pensioner = Table(
    "pensioner",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("sex", String(1), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("insurance_type", String(32), nullable=False),
    Column("benefit_status", String(16), nullable=False),
    Column("residence_region", String(6), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The matcher's latest certification state per pensioner (state.changes.v1): who is in the
# warning period, and the last proof of life and its method (past certification results).
certification = Table(
    "certification",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("validity_end", Date, nullable=True),
    Column("last_proof_at", DateTime(timezone=True), nullable=True),
    Column("last_method", String(32), nullable=True),
    Column("as_of", Date, nullable=False),
)

# Every decision published (R-7.5.2.3): one per pensioner and warning period
# (validity_end), so a re-run publishes nothing new.
decision = Table(
    "decision",
    metadata,
    Column("decision_id", Uuid, primary_key=True),
    Column("pseudonym", String(64), nullable=False),
    Column("validity_end", Date, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("confirmed", Boolean, nullable=False),
    Column("alive_probability", Float, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("pseudonym", "validity_end", name="uq_decision_period"),
)

# The model registry: every version, its training window, size, metrics,
# threshold, and who promoted it; one champion at a time.
model_version = Table(
    "model_version",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("role", String(16), nullable=False),  # champion / challenger / retired
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("trained_from", Date, nullable=True),
    Column("trained_to", Date, nullable=True),
    Column("rows", BigInteger, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("metrics", JSONB, nullable=False),
    Column("promoted_by", String(64), nullable=True),
    Column("promoted_at", DateTime(timezone=True), nullable=True),
    Column("artifact", LargeBinary, nullable=False),
)
