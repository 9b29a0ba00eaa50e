"""Ingest's HTTP API: registry import (R-7.2), feed uploads (R-7.3.1), feed counts and
event lineage (R-8.2.3)."""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import topics
from lifesign.bus import OutMessage
from lifesign.catalogue import Source, UnknownSource, get_source
from lifesign.clock import Clock, FixedClock
from lifesign.identity import FieldCipher, Pseudonymizer
from lifesign.messaging import Outbox
from lifesign.service import Runtime
from lifesign.settings import TIMEZONE
from lifesign_ingest import metadata, repository
from lifesign_ingest.intake import Intake
from lifesign_ingest.models import messaging
from lifesign_ingest.pull import JobSpec, PullRunner
from lifesign_ingest.service import (
    RecordRejected,
    RegistryRow,
    RowError,
    read_registry_csv,
    registry_row,
    row_error,
    unique_rows,
)
from lifesign_ingest.upload import ENCODINGS, FileFormat, Uploader, UploadRefused

router = APIRouter(tags=["ingest"])
log = logging.getLogger(__name__)
IMPORT_CHUNK = 1000


@dataclass
class ImportResult:
    file: str
    rows: int = 0
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)


async def import_registry(
    lines: Iterable[str],
    *,
    file: str,
    sessions: async_sessionmaker[AsyncSession],
    pseudonymizer: Pseudonymizer,
    cipher: FieldCipher,
    clock: Clock,
) -> ImportResult:
    """Import a registry CSV in chunks; each chunk and its bus messages commit together."""
    result = ImportResult(file)
    outbox = Outbox(messaging.outbox)
    chunk: list[tuple[int, RegistryRow]] = []
    rejected: list[RowError] = []
    for number, row in read_registry_csv(lines):
        result.rows += 1
        try:
            chunk.append(
                (
                    number,
                    registry_row(
                        row,
                        pseudonymizer=pseudonymizer,
                        cipher=cipher,
                        today=clock.today(),
                        now=clock.now(),
                    ),
                )
            )
        except RecordRejected as error:
            rejected.append(row_error(number, row, str(error)))
        if len(chunk) + len(rejected) >= IMPORT_CHUNK:
            await _store(sessions, outbox, chunk, rejected, file, result, clock)
            chunk, rejected = [], []
    await _store(sessions, outbox, chunk, rejected, file, result, clock)
    return result


async def _store(
    sessions: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    numbered: list[tuple[int, RegistryRow]],
    rejected: list[RowError],
    file: str,
    result: ImportResult,
    clock: Clock,
) -> None:
    if not numbered and not rejected:
        return
    async with sessions.begin() as session:
        known = await repository.pseudonyms_of_person_ids(
            session, [r.record.person_id for _, r in numbered]
        )
        rows, errors = unique_rows(numbered, known)
        errors = rejected + errors
        result.errors += errors
        result.imported += len(rows)
        await repository.upsert_pensioners(session, rows, file)
        # a corrected record clears what was listed against it; new errors are listed.
        await repository.clear_corrections(session, [r.record.person_id for r in rows])
        await repository.add_corrections(session, file, errors, clock.now())
        await outbox.add(
            session,
            [
                OutMessage.of(topics.REGISTRY_PENSIONERS, r.record, key=r.record.pseudonym)
                for r in rows
            ],
        )


@router.post("/registry/import")
async def post_registry_import(
    request: Request, file: str = "upload.csv", as_of: datetime | None = None
) -> dict[str, Any]:
    """Import base information (R-7.2) from a CSV body (UTF-8, English or Chinese headers).

    The body is spooled to disk, never held whole in memory; the answer lists every row
    that needs correction and why. ``as_of`` dates the import (an agency loading an
    export taken earlier, or a simulation); it defaults to now and is never later.
    """
    runtime: Runtime = request.app.state.runtime
    clock = runtime.clock
    if as_of is not None:
        moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=TIMEZONE)
        clock = FixedClock(min(moment, runtime.clock.now()))
    with tempfile.TemporaryFile() as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        lines = codecs.getreader("utf-8-sig")(spool)
        result = await import_registry(
            lines,
            file=file,
            sessions=runtime.sessions,
            pseudonymizer=runtime.settings.pseudonymizer,
            cipher=runtime.settings.cipher,
            clock=clock,
        )
    await Outbox(messaging.outbox).relay(runtime.sessions, runtime.producer)
    return {
        "file": result.file,
        "rows": result.rows,
        "imported": result.imported,
        "rejected": len(result.errors),
        "corrections_needed": [
            {
                "row": e.row,
                "person_id": e.person_id,
                "id_masked": e.id_masked,
                "name_masked": e.name_masked,
                "reason": e.reason,
            }
            for e in result.errors
        ],
    }


@router.get("/registry/corrections")
async def get_registry_corrections(
    request: Request, file: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """Registry records that need correction before certification can run on them
    (R-7.2, GB/T 31594-style checks), masked; a later import that accepts the person
    removes them from the list."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.corrections(session, file, min(max(limit, 1), 10_000))


class ContactsRequest(BaseModel):
    """Who wants the personal details of which pensioners, and why (R-5.3: need to know)."""

    pseudonyms: list[str] = Field(min_length=1, max_length=10_000)
    purpose: str = Field(min_length=1, max_length=200)
    requested_by: str = Field(min_length=1, max_length=64)


@router.post("/registry/contacts")
async def post_registry_contacts(request: Request, body: ContactsRequest) -> list[dict[str, Any]]:
    """The registry's personal fields of these pensioners, decrypted, for the R-7.6.1 push
    to the county or street office that verifies them. Only ingest holds them; every
    disclosure is logged with its purpose and requester."""
    runtime: Runtime = request.app.state.runtime
    cipher: FieldCipher = runtime.settings.cipher
    async with runtime.sessions() as session:
        found = await repository.registry_names(session, body.pseudonyms)
    log.info(
        "registry contacts disclosed: %d of %d asked, purpose=%r, requested_by=%r",
        len(found),
        len(body.pseudonyms),
        body.purpose,
        body.requested_by,
    )
    return [
        {"pseudonym": pseudonym, **json.loads(cipher.decrypt(token, context="pii"))}
        for pseudonym, (_digest, token) in sorted(found.items())
    ]


@router.get("/feeds/counts")
async def get_feed_counts(request: Request) -> list[dict[str, Any]]:
    """Per source and day: received = accepted + rejected."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.feed_counts(session)


@router.get("/events/{event_id}/lineage")
async def get_lineage(request: Request, event_id: uuid.UUID) -> dict[str, Any]:
    """Where an event came from: channel, topic/partition/offset, when (R-8.2.3)."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        found = await repository.lineage_of(session, event_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no event {event_id}")
    return found


def catalogue_source(code: str) -> Source:
    """The catalogue's source, or 404 naming the unknown code."""
    try:
        return get_source(code)
    except UnknownSource as error:
        raise HTTPException(
            status_code=404,
            detail=f"unknown source {code!r}: not in the catalogue (GET /catalogue lists them)",
        ) from error


@router.post("/feeds/{source}/upload")
async def post_feed_upload(
    request: Request,
    source: str,
    format: FileFormat = FileFormat.CSV,
    encoding: str = "utf-8",
    file: str | None = None,
) -> dict[str, Any]:
    """Upload a department's feed file (R-7.3.1, R-8.2.2): CSV (English or Chinese
    headers: the common columns and the source's fields) or JSON lines (one FeedRecord
    per line), UTF-8 or ``encoding=gbk``. Streamed: the body is processed in chunks as
    it arrives. The answer counts the rows and lists the first rejected ones with their
    reasons; ``errors_file`` downloads every one of them as CSV."""
    spec = catalogue_source(source)
    if encoding.lower() not in ENCODINGS:
        raise HTTPException(
            status_code=400,
            detail=f"encoding {encoding!r} is not supported; use one of {', '.join(ENCODINGS)}",
        )
    runtime: Runtime = request.app.state.runtime
    intake: Intake = runtime.parts["intake"]
    uploader = Uploader(intake, runtime.sessions, runtime.producer, runtime.clock)
    name = file or f"{source}.{format.value}"
    try:
        result = await uploader.run(
            request.stream(), source=spec, fmt=format, encoding=encoding.lower(), file=name
        )
    except UploadRefused as error:
        raise HTTPException(status_code=400, detail=str(error)) from error
    return {
        "upload_id": str(result.upload_id),
        "source": source,
        "file": name,
        "rows": result.rows,
        "accepted": result.accepted,
        "rejected": result.rejected,
        "errors": [
            {"row": e.row, "record_id": e.record_id, "reason": e.reason}
            for e in result.first_errors
        ],
        "errors_file": f"/uploads/{result.upload_id}/errors.csv",
    }


@router.get("/uploads/{upload_id}")
async def get_upload(request: Request, upload_id: uuid.UUID) -> dict[str, Any]:
    """An upload's status and counts (running, done, or failed with the error)."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        found = await repository.upload_of(session, upload_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no upload {upload_id}")
    return found


@router.get("/uploads/{upload_id}/errors.csv")
async def get_upload_errors(request: Request, upload_id: uuid.UUID) -> StreamingResponse:
    """Every rejected row of an upload and why (row, record_id, reason), streamed."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        if await repository.upload_of(session, upload_id) is None:
            raise HTTPException(status_code=404, detail=f"no upload {upload_id}")

    async def lines() -> AsyncIterator[str]:
        yield "row,record_id,reason\r\n"
        async with runtime.sessions() as session:
            async for row, record_id, reason in repository.upload_errors(session, upload_id):
                yield _csv_line([str(row), record_id or "", reason])

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{upload_id}-errors.csv"'},
    )


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue()


# --- pull jobs (R-8.2.3 task scheduling) -------------------------------------------------


@router.put("/jobs/{job_id}")
async def put_job(request: Request, job_id: str, spec: JobSpec) -> dict[str, Any]:
    """Create or reconfigure a pull job: its source, endpoint, extraction and
    transformation rules and schedule. A new job runs at the next scheduler tick."""
    catalogue_source(spec.source)
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions.begin() as session:
        await repository.upsert_job(
            session, job_id, spec.model_dump(mode="json"), runtime.clock.now()
        )
    return {"job_id": job_id, **spec.model_dump(mode="json")}


@router.get("/jobs")
async def get_jobs(request: Request, source: str | None = None) -> list[dict[str, Any]]:
    """Every pull job with its rules, cursor, next run, consecutive failures and last error."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.jobs(session, source)


@router.get("/jobs/{job_id}/runs")
async def get_job_runs(request: Request, job_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """A job's run history, newest first: status, attempt, counts, cursor, error."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.job_runs(session, job_id, min(max(limit, 1), 1000))


@router.post("/jobs/{job_id}/run")
async def post_job_run(request: Request, job_id: str) -> dict[str, Any]:
    """Run a job now (outside its schedule); the answer is the run's report."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        if not [j for j in await repository.jobs(session) if j["job_id"] == job_id]:
            raise HTTPException(status_code=404, detail=f"no pull job {job_id!r}")
    runner: PullRunner = runtime.parts["pull"]
    report = await runner.run(job_id)
    return {k: v for k, v in vars(report).items() if k != "started_at"}


# --- metadata (R-8.2.3) ----------------------------------------------------------------


@router.get("/catalogue")
async def get_catalogue(
    q: str | None = None,
    department: str | None = None,
    evidence: str | None = None,
    structure: str | None = None,
) -> list[dict[str, Any]]:
    """List and search the source catalogue: ``q`` in codes, names, departments and field
    names; filters by department, evidence class (R-7.4) and structure (R-7.3.1)."""
    found = metadata.search(q, department=department, evidence=evidence, structure=structure)
    return [metadata.summary(s) for s in found]


@router.get("/catalogue/{source}")
async def get_catalogue_source(request: Request, source: str) -> dict[str, Any]:
    """One source: its fields, how its data can be sent, its pull jobs, its total volume,
    and where its quality scores are (the quality service's report)."""
    spec = catalogue_source(source)
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        volume = await repository.volume(session, source, None, None)
        jobs = await repository.jobs(session, source)
    totals = {k: sum(day[k] for day in volume) for k in ("received", "accepted", "rejected")}
    return {
        **metadata.detail(spec),
        "totals": {**totals, "days": len(volume)},
        "jobs": [{k: j[k] for k in ("job_id", "url", "every_seconds", "enabled")} for j in jobs],
    }


@router.get("/catalogue/{source}/volume")
async def get_source_volume(
    request: Request, source: str, first: date | None = None, last: date | None = None
) -> list[dict[str, Any]]:
    """A source's volume over time: per day of arrival, received = accepted + rejected."""
    catalogue_source(source)
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.volume(session, source, first, last)
