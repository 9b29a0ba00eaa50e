"""Interface data pulled from a department's HTTP endpoint by a scheduled job (R-8.2.2
"interface data through custom services", R-8.2.3 task scheduling).

Each job is metadata in ingest's tables: the source, the endpoint, its extraction rule
(where the records and the next cursor are in the answer), its transformation rule (how the
department's field names map onto a FeedRecord), its schedule, its cursor and its runs.

Exactly once, without relying on downstream duplicate checks alone: every page is one
database transaction that holds the job's row lock, records the lineage of the page's
events (only events never seen before go on), writes them to the outbox and moves the
cursor. A crash before the commit fetches the page again; after it, the outbox publishes.
A failing run is recorded with its error and retried with exponential backoff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import telemetry, topics
from lifesign.bus import DeadLetter, OutMessage, Producer, describe_error, encode
from lifesign.catalogue import get_source
from lifesign.clock import Clock
from lifesign.events import Channel, FeedRecord, Provenance
from lifesign.messaging import Outbox
from lifesign_ingest import repository
from lifesign_ingest.intake import Intake, Normalised, Tally
from lifesign_ingest.service import RecordRejected

log = logging.getLogger(__name__)

_RECORD_FIELDS = frozenset(FeedRecord.model_fields) - {"attributes"}


class ExtractRule(BaseModel):
    """Where the records are in the endpoint's answer and how to page through it."""

    model_config = ConfigDict(extra="forbid")

    records_path: str = Field(default="records", description="Dotted path of the record list.")
    cursor_param: str = Field(default="since", description="Query parameter of the cursor.")
    next_cursor_path: str | None = Field(
        default="next_cursor", description="Dotted path of the next cursor in the answer."
    )
    cursor_field: str | None = Field(
        default=None, description="Else: the greatest value of this record field."
    )
    page_size_param: str = "limit"
    page_size: int = Field(default=500, ge=1, le=10_000)
    max_pages: int = Field(default=100, ge=1, description="Pages per run at most.")


class TransformRule(BaseModel):
    """How a department's record becomes a FeedRecord: renamed fields (department name ->
    FeedRecord field or catalogue attribute), fields dropped; the rest are attributes."""

    model_config = ConfigDict(extra="forbid")

    rename: dict[str, str] = Field(default_factory=dict)
    drop: list[str] = Field(default_factory=list)

    def record_id(self, raw: Any) -> str | None:
        """The department's record id, under whatever name the department uses."""
        if isinstance(raw, dict):
            for key, value in raw.items():
                if self.rename.get(key, key) == "record_id" and value is not None:
                    return str(value)
        return None

    def apply(self, raw: dict[str, Any]) -> FeedRecord:
        top: dict[str, Any] = {}
        attributes: dict[str, Any] = dict(raw.get("attributes") or {})
        for key, value in raw.items():
            if key in self.drop or key == "attributes":
                continue
            name = self.rename.get(key, key)
            (top if name in _RECORD_FIELDS else attributes)[name] = value
        return FeedRecord.model_validate({**top, "attributes": attributes})


class JobSpec(BaseModel):
    """A pull job as configured through the API (PUT /jobs/{job_id})."""

    model_config = ConfigDict(extra="forbid")

    source: str
    url: str
    every_seconds: int = Field(ge=1, description="How often the job runs.")
    extract: ExtractRule = Field(default_factory=ExtractRule)
    transform: TransformRule = Field(default_factory=TransformRule)
    enabled: bool = True


@dataclass
class RunReport:
    job_id: str
    status: str = "succeeded"
    pages: int = 0
    fetched: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    cursor_from: str | None = None
    cursor_to: str | None = None
    error: str | None = None
    next_run_at: datetime | None = None
    started_at: datetime | None = field(default=None, repr=False)


def _at_path(payload: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(payload, dict) or part not in payload:
            raise ValueError(f"extraction: the answer has no {path!r}")
        payload = payload[part]
    return payload


@dataclass
class PullRunner:
    """Runs due pull jobs (see the module docstring)."""

    intake: Intake
    sessions: async_sessionmaker[AsyncSession]
    producer: Producer
    clock: Clock
    outbox: Outbox
    retry_base_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0
    http_timeout_seconds: float = 30.0

    async def run_due(self) -> list[RunReport]:
        """Run every enabled job whose time has come (the scheduler's tick)."""
        async with self.sessions() as session:
            due = await repository.due_jobs(session, self.clock.now())
        return [await self.run(job_id) for job_id in due]

    async def run(self, job_id: str) -> RunReport:
        """One run: pages until the endpoint has nothing new, then the run is recorded."""
        report = RunReport(job_id, started_at=self.clock.now())
        try:
            async with httpx.AsyncClient(timeout=self.http_timeout_seconds) as client:
                while await self._page(client, report):
                    pass
        except (httpx.HTTPError, ValueError, KeyError) as error:
            report.status, report.error = "failed", describe_error(error)
            log.warning("pull job %s failed: %s", job_id, report.error)
        await self._record(report)
        await self.outbox.relay(self.sessions, self.producer)
        return report

    async def _page(self, client: httpx.AsyncClient, report: RunReport) -> bool:
        """Fetch, ingest and commit one page; True while there may be more."""
        async with self.sessions.begin() as session:
            job = await repository.lock_job(session, report.job_id)
            if job is None:  # unknown, or another replica is running it right now
                return False
            extract = ExtractRule.model_validate(job["extract"])
            if report.pages == 0:
                report.cursor_from = job["cursor"]
            params: dict[str, Any] = {extract.page_size_param: extract.page_size}
            if job["cursor"] is not None:
                params[extract.cursor_param] = job["cursor"]
            response = await client.get(job["url"], params=params)
            response.raise_for_status()
            payload = response.json()
            records = _at_path(payload, extract.records_path)
            if not isinstance(records, list):
                raise ValueError(f"extraction: {extract.records_path!r} is not a list")
            cursor = self._next_cursor(payload, records, extract, job["cursor"])
            await self._ingest(session, job, records, report)
            await repository.move_cursor(session, report.job_id, cursor)
        report.pages += 1
        report.cursor_to = cursor
        more = len(records) >= extract.page_size and cursor != report.cursor_from
        return more and cursor is not None and report.pages < extract.max_pages

    @staticmethod
    def _next_cursor(
        payload: Any, records: list[Any], extract: ExtractRule, current: str | None
    ) -> str | None:
        if extract.cursor_field is not None:
            values = [r[extract.cursor_field] for r in records if isinstance(r, dict)]
            values = [v for v in values if v is not None]
            return str(max(values)) if values else current
        if extract.next_cursor_path is not None:
            found = _at_path(payload, extract.next_cursor_path)
            return str(found) if found is not None else current
        return current

    async def _ingest(
        self, session: AsyncSession, job: dict[str, Any], records: list[Any], report: RunReport
    ) -> None:
        source = get_source(job["source"])
        transform = TransformRule.model_validate(job["transform"])
        received_at = self.clock.now()
        tally = Tally()
        normalised: list[Normalised] = []
        dead: list[OutMessage] = []
        for index, raw in enumerate(records):
            report.fetched += 1
            try:
                if not isinstance(raw, dict):
                    raise RecordRejected("a record must be a JSON object")
                record = transform.apply(raw)
                provenance = Provenance(
                    channel=Channel.INTERFACE_PULL,
                    source_record_id=record.record_id,
                    job_id=report.job_id,
                    row=report.fetched,
                )
                normalised.append(
                    self.intake.normalise(
                        record, source=source, provenance=provenance, received_at=received_at
                    )
                )
            except (RecordRejected, ValidationError) as error:
                dead.append(self._dead_letter(report, index, raw, transform, error))
                tally.reject(source.code, received_at)
        events = await self.intake.check_names(session, normalised)
        new = await repository.record_lineage(session, events, new_only=True)
        fresh = [e for e in events if e.event_id in new]
        tally.accepted[(source.code, received_at.date())] += len(fresh)
        report.accepted += len(fresh)
        report.duplicates += len(events) - len(fresh)
        report.rejected += len(dead)
        messages = [
            OutMessage.of(
                topics.EVENTS_NORMALIZED,
                e,
                key=e.person.pseudonym,
                headers=telemetry.first_hop_headers(e.event_id),
            )
            for e in fresh
        ]
        await self.outbox.add(session, [*messages, *dead])
        await repository.add_counts(session, tally.accepted, tally.rejected)

    @staticmethod
    def _dead_letter(
        report: RunReport, index: int, raw: Any, transform: TransformRule, error: Exception
    ) -> OutMessage:
        record_id = transform.record_id(raw)
        letter = DeadLetter.build(
            f"ingest-pull-{report.job_id}",
            topic=f"pull:{report.job_id}",
            partition=0,
            offset=index,
            key=record_id.encode() if record_id else None,
            headers=[],
            raw=orjson.dumps(raw),
            reason=describe_error(error),
            error_type=type(error).__name__,
        )
        return OutMessage(topics.EVENTS_REJECTED, encode(letter), letter.key)

    async def _record(self, report: RunReport) -> None:
        now = self.clock.now()
        async with self.sessions.begin() as session:
            report.next_run_at = await repository.finish_job_run(
                session,
                report,
                started_at=report.started_at or now,
                finished_at=now,
                retry_after=self._backoff,
            )

    def _backoff(self, failures: int, every_seconds: int) -> timedelta:
        """The wait before the next run: the schedule after a success, else exponential
        backoff from ``retry_base_seconds``, never longer than the schedule or the cap."""
        if failures == 0:
            return timedelta(seconds=every_seconds)
        delay = self.retry_base_seconds * 2 ** (failures - 1)
        return timedelta(seconds=min(delay, self.max_backoff_seconds, max(every_seconds, 1)))
