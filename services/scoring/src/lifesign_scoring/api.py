"""The scoring service's HTTP API: a pensioner's behaviour trail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from lifesign.service import Runtime
from lifesign_scoring import repository

router = APIRouter(tags=["scoring"])


@router.get("/persons/{pseudonym}/behaviour")
async def get_behaviour(request: Request, pseudonym: str) -> list[dict[str, Any]]:
    """Auxiliary events per source and day (the R-7.5.2 behaviour features' raw material)."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.trail(session, pseudonym)
