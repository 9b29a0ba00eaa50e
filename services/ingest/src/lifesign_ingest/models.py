"""The ingest service's tables (schema ``ingest``).

Ingest is the only service that ever holds plaintext identity, and it stores it only
encrypted (R-5.3.3): ``pii_cipher`` is the AES-GCM encryption of the registry row's
personal fields; everything else is pseudonymised or masked.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
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
    # An HTTP upload's id and file row, or the pull job that fetched it.
    Column("upload_id", UUID(as_uuid=True)),
    Column("file", String(255)),
    Column("row", Integer),
    Column("job_id", String(64)),
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

# HTTP batch uploads of a feed: one row per upload, and every rejected
# row with its reason (the downloadable error file).
upload = Table(
    "upload",
    metadata,
    Column("upload_id", UUID(as_uuid=True), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("file", String(255), nullable=False),
    Column("format", String(8), nullable=False),
    Column("encoding", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # running, done, failed
    Column("rows", BigInteger, nullable=False, server_default="0"),
    Column("accepted", BigInteger, nullable=False, server_default="0"),
    Column("rejected", BigInteger, nullable=False, server_default="0"),
    Column("error", Text),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

upload_error = Table(
    "upload_error",
    metadata,
    Column("upload_id", UUID(as_uuid=True), primary_key=True),
    Column("row", BigInteger, primary_key=True),
    Column("record_id", String(128)),
    Column("reason", Text, nullable=False),
)

# Interface data pulled from a department's HTTP endpoint (R-8.2.2, R-8.2.3 task
# scheduling): the job's extraction and transformation rules, its schedule, its cursor
# (committed in the same transaction as the records it covers) and its failures.
pull_job = Table(
    "pull_job",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("every_seconds", Integer, nullable=False),
    Column("extract", JSONB, nullable=False),
    Column("transform", JSONB, nullable=False),
    Column("enabled", Boolean, nullable=False, server_default="true"),
    Column("cursor", Text),
    Column("next_run_at", DateTime(timezone=True), nullable=False),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("last_success_at", DateTime(timezone=True)),
)

job_run = Table(
    "job_run",
    metadata,
    Column("run_id", BigInteger, Identity(), primary_key=True),
    Column("job_id", String(64), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # succeeded, failed
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("cursor_from", Text),
    Column("cursor_to", Text),
    Column("pages", Integer, nullable=False, server_default="0"),
    Column("fetched", BigInteger, nullable=False, server_default="0"),
    Column("accepted", BigInteger, nullable=False, server_default="0"),
    Column("rejected", BigInteger, nullable=False, server_default="0"),
    Column("duplicates", BigInteger, nullable=False, server_default="0"),
    Column("error", Text),
)

# Registry rows that need correction (R-7.2, GB/T 31594-style checks), masked; a later
# import that accepts the person clears them.
registry_correction = Table(
    "registry_correction",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("file", String(255), nullable=False),
    Column("row", Integer, nullable=False),
    Column("person_id", String(64), nullable=False, index=True),
    Column("id_masked", String(32)),
    Column("name_masked", String(64)),
    Column("reason", Text, nullable=False),
    Column("reported_at", DateTime(timezone=True), nullable=False),
)
