"""The lists service's HTTP API: the three lists (R-7.5.3) and their counts."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request

from lifesign.certification import Status
from lifesign.service import Runtime
from lifesign_lists import repository
from lifesign_lists.service import LIST_STATUSES, ListName, list_of, region_prefix

router = APIRouter(tags=["lists"])


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
