"""The payments bridge's HTTP API: the commands issued (audit, R-5.3.5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from lifesign.service import Runtime
from lifesign_payments_bridge import repository

router = APIRouter(tags=["payments"])


@router.get("/commands")
async def get_commands(
    request: Request, pseudonym: str | None = None, limit: int = Query(100, le=1000)
) -> list[dict[str, Any]]:
    """The latest SUSPEND / RESTORE commands, optionally for one pensioner."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.commands_for(session, pseudonym, limit)
