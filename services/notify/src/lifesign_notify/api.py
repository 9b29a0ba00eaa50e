"""The notify service's HTTP API: reminders due."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from lifesign.service import Runtime
from lifesign_notify import repository

router = APIRouter(tags=["notify"])


@router.get("/reminders")
async def get_reminders(request: Request, limit: int = Query(100, le=1000)) -> list[dict[str, Any]]:
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.reminders(session, limit)
