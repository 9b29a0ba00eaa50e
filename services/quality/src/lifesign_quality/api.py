"""Quality's HTTP API: the rules and the per-source counts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from lifesign.service import Runtime
from lifesign_quality import repository
from lifesign_quality.service import RULES

router = APIRouter(tags=["quality"])


@router.get("/rules")
async def get_rules() -> list[dict[str, str]]:
    """The table-1 rules in force (R-7.3.2): id, dimension, severity, description."""
    return [
        {
            "id": r.id,
            "dimension": r.dimension.value,
            "severity": r.severity.value,
            "description": r.description,
        }
        for r in RULES
    ]


@router.get("/counts")
async def get_counts(request: Request) -> list[dict[str, Any]]:
    """Per source and day: received = accepted + quarantined + duplicates."""
    runtime: Runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        return await repository.counts(session)
