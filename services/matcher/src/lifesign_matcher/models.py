"""The matcher's tables (schema ``matcher``): the registry projection and the one and only
certification state (ARCHITECTURE: the state has exactly one owner)."""

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from lifesign.db import service_metadata
from lifesign.messaging import messaging_tables

SCHEMA = "matcher"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

# The matcher's projection of registry.pensioners.v1 (base information, R-7.2).
pensioner = Table(
    "pensioner",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("name_digest", String(64), nullable=False),
    Column("person_id", String(64), nullable=False),
    Column("benefit_start", Date, nullable=False),
    Column("base_certified_on", Date),
    Column("benefit_region", String(6), nullable=False),
    Column("residence_region", String(6)),
    Column("record", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The fold's scalar parts (the latest proof of life, a max) and the status last published.
certification = Table(
    "certification",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("alive_at", DateTime(timezone=True)),
    Column("alive_event_id", UUID(as_uuid=True)),
    Column("alive_method", String(16)),
    Column("alive_source", String(64)),
    Column("unconfirmed_on", Date),  # R-7.5.2.3, the latest day scoring could not confirm
    Column("status", String(16)),
    Column("rule", String(32)),
    Column("conflict", String(300)),
    Column("hold_payment", Boolean, nullable=False, server_default="false"),
    Column("validity_start", Date),
    Column("validity_end", Date),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("changed_at", DateTime(timezone=True)),
)

# The fold's set parts: death and prison evidence (R-7.4.2), and reviewers' retractions.
loss_evidence = Table(
    "loss_evidence",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("occurred_on", Date, nullable=False),
    Column("released_on", Date),
    Column("source", String(64), nullable=False),
)
retraction = Table(
    "retraction",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("retracts", UUID(as_uuid=True), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("reviewer", String(64)),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Every event the matcher has decided on: the inbox (primary key drops redeliveries) and the
# record of which branch it took, for `explain`.
matched_event = Table(
    "matched_event",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("source", String(64), nullable=False),
    Column("evidence", String(16), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Every status change, with its evidence and rule: "why is this person on this list".
transition = Table(
    "transition",
    metadata,
    Column("change_id", UUID(as_uuid=True), primary_key=True),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("from_status", String(16)),
    Column("to_status", String(16), nullable=False),
    Column("rule", String(32), nullable=False),
    Column("conflict", String(300)),
    Column("evidence", JSONB, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

# R-7.3.3.2: death or loss evidence whose id matches but whose name does not waits here for
# a reviewer and is never applied before one confirms it.
review = Table(
    "review",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("source", String(64), nullable=False),
    Column("reason", String(300), nullable=False),
    Column("event", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolution", String(16)),
    Column("reviewer", String(64)),
)

# The daily sweep (issue 5): one row per date swept, so a date runs once and missed dates
# are caught up in order.
sweep_run = Table(
    "sweep_run",
    metadata,
    Column("day", Date, primary_key=True),
    Column("changes", Integer, nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Direct evidence about someone not (yet) in the registry (R-7.5.1 c): kept so that it is
# matched when the pensioner's base information arrives, instead of being lost to a race
# between the registry topic and the event topics.
unmatched_event = Table(
    "unmatched_event",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("event", JSONB, nullable=False),
    Column("kept_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Scoring's decisions (R-7.5.2.3) as received: the inbox of decisions.v1 (primary key) and
# the explanation of a big-data (auxiliary) certification: model version, probability,
# threshold and the top feature contributions.
scoring_decision = Table(
    "scoring_decision",
    metadata,
    Column("decision_id", UUID(as_uuid=True), primary_key=True),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("as_of", Date, nullable=False),
    Column("confirmed", Boolean, nullable=False),
    Column("alive_probability", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("decision", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
