"""The scoring service's HTTP API: behaviour trail, decisions, and the model registry."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from lifesign.messaging import Outbox
from lifesign.service import Runtime
from lifesign_scoring import repository
from lifesign_scoring.decide import Decider
from lifesign_scoring.models import messaging

router = APIRouter(tags=["scoring"])


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get("/persons/{pseudonym}/behaviour")
async def get_behaviour(request: Request, pseudonym: str) -> list[dict[str, Any]]:
    """Auxiliary events per source and day (the R-7.5.2 behaviour features' raw material)."""
    async with _runtime(request).sessions() as session:
        return await repository.trail(session, pseudonym)


@router.get("/persons/{pseudonym}/decisions")
async def get_decisions(request: Request, pseudonym: str) -> list[dict[str, Any]]:
    async with _runtime(request).sessions() as session:
        return await repository.decisions_of(session, pseudonym)


@router.post("/decide")
async def post_decide(request: Request, through: date) -> dict[str, Any]:
    """Decide for everyone in the warning period on ``through`` (R-7.5.2.3); a re-run for
    the same date publishes nothing new."""
    runtime = _runtime(request)
    if through > runtime.clock.today():
        raise HTTPException(status_code=422, detail="cannot decide for a date in the future")
    decider: Decider = runtime.parts["decider"]
    result = await decider.run_through(through)
    await Outbox(messaging.outbox).relay(runtime.sessions, runtime.producer)
    return {
        "day": result.day,
        "model_version": result.model_version,
        "decided": result.decided,
        "confirmed": result.confirmed,
        "deferred": result.deferred,
    }


@router.get("/models")
async def get_models(request: Request) -> list[dict[str, Any]]:
    """Every model version: training window, size, metrics, threshold, who promoted it."""
    async with _runtime(request).sessions() as session:
        return await repository.list_models(session)


@router.get("/models/{version}/artifact")
async def get_artifact(request: Request, version: str) -> Response:
    """A version's bytes, to compare it with a challenger on the same held-out period."""
    async with _runtime(request).sessions() as session:
        blob = await repository.artifact(session, version)
    if blob is None:
        raise HTTPException(status_code=404, detail=f"no model {version}")
    return Response(content=blob, media_type="application/json")


@router.post("/models", status_code=201)
async def post_model(request: Request) -> dict[str, Any]:
    """Register a model as a challenger: the bytes ``lifesign train`` writes, or a rule
    model of approved rules (``lifesign model rules``)."""
    # Imported here: xgboost and scikit-learn take seconds to load; serving starts without.
    from lifesign_scoring.learning import load_model
    from lifesign_scoring.rules import RuleModel

    runtime = _runtime(request)
    blob = await request.body()
    try:
        model = await asyncio.to_thread(load_model, blob)
    except (ValueError, KeyError, TypeError) as error:
        raise HTTPException(status_code=422, detail=f"not a scoring model: {error}") from error
    facts = model.facts or {}
    kind = "rules" if isinstance(model, RuleModel) else "xgboost"
    row = {
        "version": model.version,
        "kind": kind,
        "role": "challenger",
        "registered_at": runtime.clock.now(),
        "trained_from": date.fromisoformat(facts["trained_from"])
        if facts.get("trained_from")
        else None,
        "trained_to": date.fromisoformat(facts["trained_to"]) if facts.get("trained_to") else None,
        "rows": int(facts.get("rows", 0)),
        "threshold": model.threshold,
        "metrics": facts.get("metrics", {}),
        "artifact": blob,
    }
    async with runtime.sessions.begin() as session:
        if not await repository.register_model(session, row):
            raise HTTPException(status_code=409, detail=f"version {model.version} exists")
    return {"version": model.version, "role": "challenger"}


@router.post("/models/{version}/promote")
async def post_promote(request: Request, version: str, by: str) -> dict[str, Any]:
    """Make a version the champion (R-8.2.4); the former champion is retired."""
    runtime = _runtime(request)
    async with runtime.sessions.begin() as session:
        if not await repository.promote(session, version, by, runtime.clock.now()):
            raise HTTPException(status_code=404, detail=f"no model {version}")
    return {"version": version, "role": "champion", "promoted_by": by}


@router.post("/models/rollback")
async def post_rollback(request: Request, by: str) -> dict[str, Any]:
    """Restore the champion before the current one."""
    runtime = _runtime(request)
    async with runtime.sessions.begin() as session:
        previous = await repository.previous_champion(session)
        if previous is None:
            raise HTTPException(status_code=409, detail="no earlier champion to roll back to")
        await repository.promote(session, previous, by, runtime.clock.now())
    return {"version": previous, "role": "champion", "promoted_by": by}
