"""The matcher's HTTP API: explain a pensioner's status; the R-7.3.3.2 review queue."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from lifesign.messaging import Outbox
from lifesign.service import Runtime
from lifesign_matcher import repository
from lifesign_matcher.models import messaging

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


@router.post("/sweep")
async def post_sweep(request: Request, through: date) -> list[dict[str, Any]]:
    """Run the daily sweep for every date not swept yet, up to ``through`` (R-6.3, R-6.4,
    R-7.9): idempotent, one run per date, missed dates caught up in order."""
    runtime: Runtime = request.app.state.runtime
    if through > runtime.clock.today():
        raise HTTPException(status_code=422, detail="cannot sweep a date in the future")
    results = await runtime.parts["sweeper"].run_through(through)
    await Outbox(messaging.outbox).relay(runtime.sessions, runtime.producer)
    return [{"day": r.day, "candidates": r.candidates, "changes": r.changes} for r in results]


@router.get("/reviews")
async def get_reviews(request: Request) -> list[dict[str, Any]]:
    """Loss evidence waiting for a reviewer because the name does not match (R-7.3.3.2)."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.open_reviews(session)
