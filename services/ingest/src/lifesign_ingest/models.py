"""The ingest service's tables (schema ``ingest``).

Ingest is the only service that ever holds plaintext identity, and it stores it only
encrypted (R-5.3.3): ``pii_cipher`` is the AES-GCM encryption of the registry row's
personal fields; everything else is pseudonymised or masked.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from lifesign.db import service_metadata
from lifesign.messaging import messaging_tables

SCHEMA = "ingest"
metadata = service_metadata(SCHEMA)
messaging = messaging_tables(metadata)

pensioner = Table(
    "pensioner",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("person_id", String(64), nullable=False, unique=True),
    Column("name_digest", String(64), nullable=False),
    Column("id_masked", String(32), nullable=False),
    Column("name_masked", String(64), nullable=False),
    Column("pii_cipher", Text, nullable=False),
    Column("record", JSONB, nullable=False),
    Column("source_file", String(255), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Lineage of every event (R-8.2.3 metadata: which file or message, which job, when).
event_lineage = Table(
    "event_lineage",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("pseudonym", String(64), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("topic", String(255)),
    Column("partition", Integer),
    Column("offset", BigInteger),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# Per source and day: received = accepted + rejected, at ingest (the counts must balance).
feed_count = Table(
    "feed_count",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("received", BigInteger, nullable=False, server_default="0"),
    Column("accepted", BigInteger, nullable=False, server_default="0"),
    Column("rejected", BigInteger, nullable=False, server_default="0"),
)
