"""The scoring service's tables (schema ``scoring``)."""

from sqlalchemy import BigInteger, Column, Date, DateTime, String, Table

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
