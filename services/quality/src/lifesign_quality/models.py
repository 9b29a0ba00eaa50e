"""The quality service's tables (schema ``quality``)."""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from lifesign.db import service_metadata

SCHEMA = "quality"
metadata = service_metadata(SCHEMA)

# Entity integrity (table 1): the first Kafka coordinates each event id was seen at. The same
# id at the same coordinates is a redelivery (processed again, idempotently); at other
# coordinates it is a duplicate record (dropped once, counted).
seen_event = Table(
    "seen_event",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("topic", String(255), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # What the scheduled checks and the duplicate rules need of every event received.
    Column("source", String(64), nullable=True),
    Column("source_record_id", String(128), nullable=True),
    # Near duplicates (Q-ENT-03): a digest of person, source, time, region and attributes;
    # the unique index lets the first event with a content win in one statement.
    Column("content_digest", LargeBinary(16), nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=True),
)
Index("ux_seen_event_content", seen_event.c.content_digest, unique=True)
Index("ix_seen_event_source_received", seen_event.c.source, seen_event.c.received_at)

# Per source and day of arrival (Beijing):
# received = accepted + quarantined + rejected + duplicates (warnings are accepted).
quality_count = Table(
    "quality_count",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("received", BigInteger, nullable=False, server_default="0"),
    Column("accepted", BigInteger, nullable=False, server_default="0"),
    Column("warned", BigInteger, nullable=False, server_default="0"),
    Column("quarantined", BigInteger, nullable=False, server_default="0"),
    Column("duplicates", BigInteger, nullable=False, server_default="0"),
    Column("rejected", BigInteger, nullable=False, server_default="0"),
)

# Every finding of every rule, for the quality report (R-8.2.3.2) and for review.
finding = Table(
    "finding",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("rule_id", String(32), primary_key=True),
    Column("source", String(64), nullable=False, index=True),
    Column("severity", String(16), nullable=False),
    Column("message", String(500), nullable=False),
    Column("day", Date, nullable=False),
    Column("event", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=True),
)
Index("ix_finding_day_rule", finding.c.day, finding.c.rule_id)

# The registry as quality needs it, from registry.pensioners.v1: referential
# integrity (Q-REF-01), sex and birth date (Q-VAL-01, Q-LOG-02).
pensioner = Table(
    "pensioner",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("sex", String(1), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Every death date reported for a person (Q-VAL-02 across sources, Q-REA-01 successive).
death_report = Table(
    "death_report",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("death_date", Date, nullable=False),
)

# Overall completeness (Q-OVC-01/02): silent and flooding days of a source.
volume_finding = Table(
    "volume_finding",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("observed", BigInteger, nullable=False),
    Column("usual", Float, nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)
