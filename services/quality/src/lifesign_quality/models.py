"""The quality service's tables (schema ``quality``)."""

from sqlalchemy import BigInteger, Column, Date, DateTime, Integer, String, Table, func
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
)

# Per source and day: received = accepted + quarantined + duplicates (warnings are accepted).
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
)
