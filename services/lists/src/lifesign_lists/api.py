"""The lists service's HTTP API: the three lists (R-7.5.3) and their counts."""

from __future__ import annotations

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
    limit: int = Query(100, ge=1, le=10_000),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    """One of the three lists, optionally for a jurisdiction (a GB/T 2260 code)."""
    runtime: Runtime = request.app.state.runtime
    prefix = region_prefix(region) if region else None
    async with runtime.sessions() as session:
        rows = await repository.people(session, LIST_STATUSES[name], prefix, limit, offset)
    for row in rows:
        row["warning"] = row["status"] == Status.WARNING.value
    return rows


@router.get("/lists")
async def get_summary(
    request: Request, region: str | None = Query(None, pattern=r"^\d{6}$")
) -> dict[str, Any]:
    """How many people are on each list, and in each status."""
    runtime: Runtime = request.app.state.runtime
    prefix = region_prefix(region) if region else None
    async with runtime.sessions() as session:
        by_status = await repository.counts(session, prefix)
    by_list = {name.value: 0 for name in ListName}
    for status, n in by_status.items():
        by_list[list_of(Status(status)).value] += n
    return {"lists": by_list, "statuses": by_status}
