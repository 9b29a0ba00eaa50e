"""The lists service's HTTP API: the three lists (R-7.5.3) and their counts."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response

from lifesign.certification import Status
from lifesign.service import Runtime
from lifesign_lists import repository
from lifesign_lists.push import Contacts, push_row, to_csv, to_xlsx
from lifesign_lists.service import LIST_STATUSES, ListName, list_of, region_prefix

router = APIRouter(tags=["lists"])


# Before /lists/{name}: FastAPI matches routes in the order they are declared.
@router.get("/lists/trends")
async def get_trends(
    request: Request,
    start: date = Query(..., alias="from"),
    end: date = Query(..., alias="to"),
    region: str | None = Query(None, pattern=r"^\d{6}$"),
    every: int = Query(7, ge=1, le=366, description="Days between points."),
) -> list[dict[str, Any]]:
    """Counts per list and status at regular dates, for a jurisdiction's dashboard: one
    set-based query per point over the status history."""
    if end < start or (end - start).days // every > 400:
        raise HTTPException(422, "choose from <= to and at most 400 points")
    runtime: Runtime = request.app.state.runtime
    prefix = region_prefix(region) if region else None
    points = []
    day = start
    async with runtime.sessions() as session:
        while day <= end:
            by_status = await repository.counts_on(session, day, prefix)
            by_list = {name.value: 0 for name in ListName}
            for status, n in by_status.items():
                by_list[list_of(Status(status)).value] += n
            points.append({"on": day, "lists": by_list, "statuses": by_status})
            day += timedelta(days=every)
    return points


@router.get("/lists/{name}")
async def get_list(
    request: Request,
    name: ListName,
    region: str | None = Query(None, pattern=r"^\d{6}$"),
    on: date | None = Query(None, description="The list as it stood on this date."),
    limit: int = Query(100, ge=1, le=10_000),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    """One of the three lists, now or ``on`` a past date, optionally for a jurisdiction
    (a GB/T 2260 code: province, city or county)."""
    runtime: Runtime = request.app.state.runtime
    prefix = region_prefix(region) if region else None
    async with runtime.sessions() as session:
        if on is None:
            rows = await repository.people(session, LIST_STATUSES[name], prefix, limit, offset)
        else:
            rows = await repository.people_on(
                session, on, LIST_STATUSES[name], prefix, limit, offset
            )
    for row in rows:
        row["warning"] = row["status"] == Status.WARNING.value
    return rows


@router.get("/lists")
async def get_summary(
    request: Request,
    region: str | None = Query(None, pattern=r"^\d{6}$"),
    on: date | None = Query(None, description="The counts as they stood on this date."),
) -> dict[str, Any]:
    """How many people are on each list, and in each status, now or on a past date."""
    runtime: Runtime = request.app.state.runtime
    prefix = region_prefix(region) if region else None
    async with runtime.sessions() as session:
        if on is None:
            by_status = await repository.counts(session, prefix)
        else:
            by_status = await repository.counts_on(session, on, prefix)
    by_list = {name.value: 0 for name in ListName}
    for status, n in by_status.items():
        by_list[list_of(Status(status)).value] += n
    return {"lists": by_list, "statuses": by_status}


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


_MEDIA = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get("/lists/pending/push", response_model=None)
async def get_pending_push(
    request: Request,
    office: str = Query(
        ..., pattern=r"^\d{6}$", description="The county (or city) office's GB/T 2260 code."
    ),
    street: str | None = Query(None, max_length=64, description="Only this street (乡镇)."),
    format: ExportFormat = ExportFormat.JSON,
) -> list[dict[str, Any]] | Response:
    """The R-7.6.1 push: pending-verification people living in the office's area, with
    every field the clause names, as JSON, CSV or XLSX."""
    runtime: Runtime = request.app.state.runtime
    contacts: Contacts | None = runtime.parts.get("contacts")
    if contacts is None:
        raise HTTPException(503, "ingest_url is not configured: personal fields unavailable")
    async with runtime.sessions() as session:
        candidates = await repository.push_candidates(
            session, LIST_STATUSES[ListName.PENDING], region_prefix(office)
        )
    found = await contacts.fetch(
        [c["pseudonym"] for c in candidates], f"R-7.6.1 push to office {office}"
    )
    rows = [push_row(c, found.get(c["pseudonym"])) for c in candidates]
    if street:
        rows = [r for r in rows if r["street"] == street]
    if format is ExportFormat.JSON:
        return rows
    name = f"pending-{office}-{runtime.clock.today():%Y%m%d}.{format.value}"
    body = to_csv(rows) if format is ExportFormat.CSV else to_xlsx(rows, title=f"待核实{office}")
    return Response(
        body,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
