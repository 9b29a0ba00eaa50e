"""Every SQL statement of the ingest service."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.db import bulk_insert, replace_on_conflict
from lifesign.events import Channel, LifeEvent
from lifesign_ingest.models import (
    event_lineage,
    feed_count,
    job_run,
    pensioner,
    pull_job,
    registry_correction,
    upload,
    upload_error,
)
from lifesign_ingest.service import RegistryRow, RowError

_CHANNELS = {c: c.value for c in Channel}
#: The where-from columns of a lineage row (see :class:`lifesign.events.Provenance`).
_COORDINATES = ("topic", "partition", "offset", "file", "row", "job_id")


async def record_lineage(
    session: AsyncSession,
    events: Sequence[LifeEvent],
    *,
    upload_id: uuid.UUID | None = None,
    new_only: bool = False,
) -> set[uuid.UUID]:
    """Where each event came from (R-8.2.3). With ``new_only``, return the ids seen for
    the first time (a pull job publishes only those: ingest's own duplicate check)."""
    if not events:
        return set()
    # A channel leaves the other channels' coordinates empty (a Kafka record has no file,
    # row, upload or job): columns no row has a value for are left out of the statement
    # (they are NULL either way), which spares encoding a third of the cells.
    provenances = [e.provenance for e in events]
    rows: list[dict[str, Any]] = [
        {
            "event_id": e.event_id,
            "source": e.source,
            "pseudonym": e.person.pseudonym,
            "channel": _CHANNELS[p.channel],
            "received_at": e.received_at,
        }
        for e, p in zip(events, provenances, strict=True)
    ]
    if upload_id is not None:
        for row in rows:
            row["upload_id"] = upload_id
    for name in _COORDINATES:
        values = [getattr(p, name) for p in provenances]
        if any(v is not None for v in values):
            for row, value in zip(rows, values, strict=True):
                row[name] = value
    return await insert_lineage(session, rows, new_only=new_only)


async def insert_lineage(
    session: AsyncSession, rows: Sequence[dict[str, Any]], *, new_only: bool = False
) -> set[uuid.UUID]:
    """Lineage rows as :func:`record_lineage` builds them (the Kafka channel builds its
    own, with its coordinates only); with ``new_only``, the ids seen for the first time."""
    if not rows:
        return set()
    # A redelivered record keeps its event id: the first lineage row stands. One statement
    # per batch (unnest of column arrays), not one per row.
    returned = await bulk_insert(
        session,
        event_lineage,
        rows,
        on_conflict="nothing",
        returning=("event_id",) if new_only else (),
    )
    return {r["event_id"] for r in returned}


async def registry_names(
    session: AsyncSession, pseudonyms: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """pseudonym -> (name digest, encrypted personal fields) of registered pensioners."""
    keys = sorted(set(pseudonyms))
    if not keys:
        return {}
    # One array parameter, not one bind parameter per key (a batch has thousands).
    rows = await session.execute(
        select(pensioner.c.pseudonym, pensioner.c.name_digest, pensioner.c.pii_cipher).where(
            pensioner.c.pseudonym == any_(bindparam("keys", keys, type_=ARRAY(String)))
        )
    )
    return {r.pseudonym: (r.name_digest, r.pii_cipher) for r in rows}


_OTHER_NAMES = text(
    "SELECT DISTINCT p.pseudonym, p.name_digest, p.pii_cipher "  # noqa: S608 (a table name)
    "FROM unnest(CAST(:keys AS text[]), CAST(:digests AS text[])) AS b(pseudonym, digest) "
    f"JOIN {pensioner.fullname} AS p ON p.pseudonym = b.pseudonym "
    "WHERE p.name_digest <> b.digest"
)


async def registered_under_other_names(
    session: AsyncSession, people: Iterable[tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    """pseudonym -> (name digest, encrypted personal fields) of the registered pensioners
    among ``people`` (pseudonym, name digest) whose registry name digest is another one.

    What the R-7.3.3.2 name check needs, in one statement: the registry's ciphertexts
    travel only for the few records whose name differs, not for every registered person
    in the batch (most of them)."""
    pairs = set(people)
    if not pairs:
        return {}
    keys, digests = zip(*pairs, strict=True)
    rows = await session.execute(_OTHER_NAMES, {"keys": list(keys), "digests": list(digests)})
    return {r.pseudonym: (r.name_digest, r.pii_cipher) for r in rows}


async def add_counts(
    session: AsyncSession,
    accepted: Counter[tuple[str, date]],
    rejected: Counter[tuple[str, date]],
) -> None:
    """Add to the per (source, day of arrival) counts."""
    keys = sorted(set(accepted) | set(rejected))
    if not keys:
        return
    rows = [
        {
            "source": source,
            "day": day,
            "received": accepted[(source, day)] + rejected[(source, day)],
            "accepted": accepted[(source, day)],
            "rejected": rejected[(source, day)],
        }
        for source, day in keys
    ]
    statement = insert(feed_count)
    statement = statement.on_conflict_do_update(
        index_elements=[feed_count.c.source, feed_count.c.day],
        set_={
            "received": feed_count.c.received + statement.excluded.received,
            "accepted": feed_count.c.accepted + statement.excluded.accepted,
            "rejected": feed_count.c.rejected + statement.excluded.rejected,
        },
    )
    await session.execute(statement, rows)


async def upsert_pensioners(session: AsyncSession, rows: Sequence[RegistryRow], file: str) -> None:
    if not rows:
        return
    values = [
        {
            "pseudonym": r.record.pseudonym,
            "person_id": r.record.person_id,
            "name_digest": r.record.name_digest,
            "id_masked": r.record.id_masked,
            "name_masked": r.record.name_masked,
            "pii_cipher": r.pii_cipher,
            "record": r.record.model_dump(mode="json"),
            "source_file": file,
        }
        for r in rows
    ]
    await session.execute(replace_on_conflict(pensioner, values), values)


async def pseudonyms_of_person_ids(
    session: AsyncSession, person_ids: Sequence[str]
) -> dict[str, str]:
    """person_id -> pseudonym for the person numbers already in the registry."""
    rows = await session.execute(
        select(pensioner.c.person_id, pensioner.c.pseudonym).where(
            pensioner.c.person_id.in_(sorted(set(person_ids)))
        )
    )
    return {r.person_id: r.pseudonym for r in rows}


async def feed_counts(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(select(feed_count).order_by(feed_count.c.day, feed_count.c.source))
    return [dict(r._mapping) for r in rows]


async def lineage_of(session: AsyncSession, event_id: Any) -> dict[str, Any] | None:
    row = (
        await session.execute(select(event_lineage).where(event_lineage.c.event_id == event_id))
    ).first()
    return dict(row._mapping) if row else None


async def pensioner_count(session: AsyncSession) -> int:
    from sqlalchemy import func

    return int(await session.scalar(select(func.count()).select_from(pensioner)) or 0)


# --- uploads -------------------------------------------------------------------------------


async def start_upload(
    session: AsyncSession,
    upload_id: uuid.UUID,
    *,
    source: str,
    file: str,
    fmt: str,
    encoding: str,
    at: datetime,
) -> None:
    await session.execute(
        insert(upload).values(
            upload_id=upload_id,
            source=source,
            file=file,
            format=fmt,
            encoding=encoding,
            status="running",
            started_at=at,
        )
    )


async def progress_upload(
    session: AsyncSession, upload_id: uuid.UUID, rows: int, accepted: int, rejected: int
) -> None:
    await session.execute(
        update(upload)
        .where(upload.c.upload_id == upload_id)
        .values(rows=rows, accepted=accepted, rejected=rejected)
    )


async def finish_upload(
    session: AsyncSession, upload_id: uuid.UUID, at: datetime, error: str | None
) -> None:
    await session.execute(
        update(upload)
        .where(upload.c.upload_id == upload_id)
        .values(status="failed" if error else "done", error=error, finished_at=at)
    )


async def add_upload_errors(
    session: AsyncSession, upload_id: uuid.UUID, rows: Sequence[tuple[int, str | None, str]]
) -> None:
    if not rows:
        return
    values = [
        {"upload_id": upload_id, "row": row, "record_id": record_id, "reason": reason}
        for row, record_id, reason in rows
    ]
    await session.execute(insert(upload_error).on_conflict_do_nothing(), values)


async def upload_of(session: AsyncSession, upload_id: uuid.UUID) -> dict[str, Any] | None:
    row = (await session.execute(select(upload).where(upload.c.upload_id == upload_id))).first()
    return dict(row._mapping) if row else None


async def upload_errors(
    session: AsyncSession, upload_id: uuid.UUID
) -> AsyncIterator[tuple[int, str | None, str]]:
    """Every rejected row of an upload in row order, streamed from a server-side cursor."""
    result = await session.stream(
        select(upload_error.c.row, upload_error.c.record_id, upload_error.c.reason)
        .where(upload_error.c.upload_id == upload_id)
        .order_by(upload_error.c.row)
    )
    async for row in result:
        yield row.row, row.record_id, row.reason


# --- pull jobs -----------------------------------------------------------------------------


async def upsert_job(
    session: AsyncSession, job_id: str, spec: dict[str, Any], now: datetime
) -> None:
    """Create or reconfigure a pull job; its cursor, failures and runs are kept."""
    statement = insert(pull_job).values(job_id=job_id, next_run_at=now, **spec)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[pull_job.c.job_id],
            set_={name: statement.excluded[name] for name in spec},
        )
    )


async def due_jobs(session: AsyncSession, now: datetime) -> list[str]:
    rows = await session.execute(
        select(pull_job.c.job_id)
        .where(pull_job.c.enabled, pull_job.c.next_run_at <= now)
        .order_by(pull_job.c.next_run_at)
    )
    return list(rows.scalars())


async def lock_job(session: AsyncSession, job_id: str) -> dict[str, Any] | None:
    """The job's row, locked for this transaction; None if another replica holds it."""
    row = (
        await session.execute(
            select(pull_job).where(pull_job.c.job_id == job_id).with_for_update(skip_locked=True)
        )
    ).first()
    return dict(row._mapping) if row else None


async def move_cursor(session: AsyncSession, job_id: str, cursor: str | None) -> None:
    await session.execute(update(pull_job).where(pull_job.c.job_id == job_id).values(cursor=cursor))


async def finish_job_run(
    session: AsyncSession,
    report: Any,
    *,
    started_at: datetime,
    finished_at: datetime,
    retry_after: Callable[[int, int], timedelta],
) -> datetime | None:
    """Record a run and schedule the next one (backoff after failures); returns when."""
    job = (
        await session.execute(
            select(pull_job.c.failures, pull_job.c.every_seconds)
            .where(pull_job.c.job_id == report.job_id)
            .with_for_update()
        )
    ).first()
    if job is None:
        return None
    failed = report.status == "failed"
    failures = job.failures + 1 if failed else 0
    await session.execute(
        insert(job_run).values(
            job_id=report.job_id,
            attempt=job.failures + 1,
            status=report.status,
            started_at=started_at,
            finished_at=finished_at,
            cursor_from=report.cursor_from,
            cursor_to=report.cursor_to,
            pages=report.pages,
            fetched=report.fetched,
            accepted=report.accepted,
            rejected=report.rejected,
            duplicates=report.duplicates,
            error=report.error,
        )
    )
    next_run = finished_at + retry_after(failures, job.every_seconds)
    values: dict[str, Any] = {"failures": failures, "next_run_at": next_run}
    if failed:
        values["last_error"] = report.error
    else:
        values.update(last_error=None, last_success_at=finished_at)
    await session.execute(update(pull_job).where(pull_job.c.job_id == report.job_id).values(values))
    return next_run


async def jobs(session: AsyncSession, source: str | None = None) -> list[dict[str, Any]]:
    statement = select(pull_job).order_by(pull_job.c.job_id)
    if source is not None:
        statement = statement.where(pull_job.c.source == source)
    return [dict(r._mapping) for r in await session.execute(statement)]


async def job_runs(session: AsyncSession, job_id: str, limit: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(job_run)
        .where(job_run.c.job_id == job_id)
        .order_by(job_run.c.run_id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


# --- registry corrections (R-7.2) ----------------------------------------------------------


async def add_corrections(
    session: AsyncSession, file: str, errors: Sequence[RowError], at: datetime
) -> None:
    if not errors:
        return
    rows = [
        {
            "file": file,
            "row": e.row,
            "person_id": e.person_id,
            "id_masked": e.id_masked,
            "name_masked": e.name_masked,
            "reason": e.reason,
            "reported_at": at,
        }
        for e in errors
    ]
    await session.execute(insert(registry_correction), rows)


async def clear_corrections(session: AsyncSession, person_ids: Sequence[str]) -> None:
    if person_ids:
        await session.execute(
            registry_correction.delete().where(
                registry_correction.c.person_id.in_(sorted(set(person_ids)))
            )
        )


async def corrections(session: AsyncSession, file: str | None, limit: int) -> list[dict[str, Any]]:
    statement = select(registry_correction).order_by(registry_correction.c.id).limit(limit)
    if file is not None:
        statement = statement.where(registry_correction.c.file == file)
    return [dict(r._mapping) for r in await session.execute(statement)]


async def volume(
    session: AsyncSession, source: str, first: date | None, last: date | None
) -> list[dict[str, Any]]:
    """Per day of arrival: received, accepted, rejected for one source."""
    statement = (
        select(
            feed_count.c.day, feed_count.c.received, feed_count.c.accepted, feed_count.c.rejected
        )
        .where(feed_count.c.source == source)
        .order_by(feed_count.c.day)
    )
    if first is not None:
        statement = statement.where(feed_count.c.day >= first)
    if last is not None:
        statement = statement.where(feed_count.c.day <= last)
    return [dict(r._mapping) for r in await session.execute(statement)]
