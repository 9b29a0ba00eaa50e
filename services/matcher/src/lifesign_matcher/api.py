"""The matcher's HTTP API: explain a pensioner's status; the R-7.3.3.2 review queue."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from lifesign.messaging import Outbox
from lifesign.service import Runtime
from lifesign_matcher import repository
from lifesign_matcher.models import messaging
from lifesign_matcher.review import NotFound, Reviews

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


class Decision(BaseModel):
    reviewer: str = Field(min_length=1, max_length=64)
    reason: str = Field(default="", max_length=500)


@router.post("/reviews/{event_id}/confirm")
async def post_confirm(request: Request, event_id: uuid.UUID, decision: Decision) -> dict[str, Any]:
    """A reviewer confirms loss evidence held for a name mismatch (R-7.3.3.2): applied now."""
    return await _resolve(request, event_id, decision, confirm=True)


@router.post("/reviews/{event_id}/reject")
async def post_reject(request: Request, event_id: uuid.UUID, decision: Decision) -> dict[str, Any]:
    """A reviewer rejects it: the record is never applied."""
    return await _resolve(request, event_id, decision, confirm=False)


async def _resolve(
    request: Request, event_id: uuid.UUID, decision: Decision, *, confirm: bool
) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    reviews: Reviews = runtime.parts["reviews"]
    try:
        async with runtime.sessions.begin() as session:
            resolution = await reviews.resolve(
                session,
                event_id,
                confirm=confirm,
                reviewer=decision.reviewer,
                at=runtime.clock.now(),
            )
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    await Outbox(messaging.outbox).relay(runtime.sessions, runtime.producer)
    return {"event_id": event_id, "resolution": resolution}


@router.post("/loss-evidence/{event_id}/retract")
async def post_retract(request: Request, event_id: uuid.UUID, decision: Decision) -> dict[str, Any]:
    """Withdraw a wrong death or prison record (R-7.11): the person is re-evaluated and the
    payments bridge restores payment with arrears when the hold lifts."""
    runtime: Runtime = request.app.state.runtime
    reviews: Reviews = runtime.parts["reviews"]
    if not decision.reason:
        raise HTTPException(status_code=422, detail="a retraction needs a reason")
    try:
        async with runtime.sessions.begin() as session:
            retraction = await reviews.retract(
                session, event_id, reason=decision.reason, reviewer=decision.reviewer,
                at=runtime.clock.now(),
            )  # fmt: skip
    except NotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    await Outbox(messaging.outbox).relay(runtime.sessions, runtime.producer)
    return {"retraction_id": retraction, "retracts": event_id}


@router.get("/reviews")
async def get_reviews(
    request: Request,
    limit: int = Query(100, ge=1, le=100_000),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    """Loss evidence waiting for a reviewer because the name does not match (R-7.3.3.2),
    oldest first, a page at a time."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.open_reviews(session, limit, offset)
