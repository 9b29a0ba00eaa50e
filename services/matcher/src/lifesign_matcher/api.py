"""The matcher's HTTP API: explain a pensioner's status; the R-7.3.3.2 review queue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from lifesign.service import Runtime
from lifesign_matcher import repository

router = APIRouter(tags=["certification"])


@router.get("/persons/{pseudonym}/explain")
async def get_explain(request: Request, pseudonym: str) -> dict[str, Any]:
    """Why this person has this status: the state, every transition with its rule and
    evidence, and every event decided for them."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        found = await repository.explain(session, pseudonym)
    if found is None:
        raise HTTPException(status_code=404, detail="no certification state for this person")
    return found


@router.get("/reviews")
async def get_reviews(request: Request) -> list[dict[str, Any]]:
    """Loss evidence waiting for a reviewer because the name does not match (R-7.3.3.2)."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.open_reviews(session)
