"""Quality's HTTP API: the rules, the counts, the scheduled checks, the report (R-8.2.3.2)
and the outcomes the evaluation reads (what was dropped as a duplicate, what was flagged)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from lifesign.service import Runtime
from lifesign_quality import checks, report, repository

router = APIRouter(tags=["quality"])

From = Annotated[date | None, Query(alias="from", description="First day (Beijing), ISO.")]
To = Annotated[date | None, Query(alias="to", description="Last day (Beijing), ISO.")]

#: The outcome kinds the evaluation asks for, and the rules behind each.
OUTCOME_RULES: dict[str, tuple[str, ...]] = {
    "duplicates": ("Q-ENT-02", "Q-ENT-03"),
    "flagged": ("Q-TIM-01", "Q-TIM-02", "Q-TIM-03", "Q-OVC-03"),
}


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _period(runtime: Runtime, first: date | None, last: date | None) -> tuple[date, date]:
    """The asked period; a missing end is filled from what has arrived (or today)."""
    if first is not None and last is not None:
        if last < first:
            raise HTTPException(422, f"to {last} is before from {first}")
        return first, last
    span = await checks.days_received(runtime.sessions)
    today = runtime.clock.today()
    known_first, known_last = span if span else (today - timedelta(days=30), today)
    return first or known_first, last or known_last


@router.get("/rules")
async def get_rules() -> list[dict[str, Any]]:
    """The table-1 rules in force (R-7.3.2): id, dimension, severity, description."""
    return report.rules_json()


@router.get("/counts")
async def get_counts(request: Request, first: From = None, last: To = None) -> list[dict[str, Any]]:
    """Per source and day: received = accepted + quarantined + rejected + duplicates."""
    async with _runtime(request).sessions() as session:
        return await repository.counts(session, first, last)


@router.post("/checks")
async def post_checks(request: Request, first: From = None, last: To = None) -> dict[str, Any]:
    """Run the scheduled checks (silent and flooding sources, late deliveries) now."""
    runtime = _runtime(request)
    begin, end = await _period(runtime, first, last)
    return (await checks.run_checks(runtime.sessions, begin, end)).as_dict()


@router.get("/report")
async def get_report(request: Request, first: From = None, last: To = None) -> dict[str, Any]:
    """The data-quality report (R-8.2.3.2) as JSON."""
    runtime = _runtime(request)
    begin, end = await _period(runtime, first, last)
    async with runtime.sessions() as session:
        return await report.build(session, begin, end)


@router.get("/report.html", response_class=HTMLResponse)
async def get_report_html(request: Request, first: From = None, last: To = None) -> str:
    """The same report as a page with charts (inline SVG, no script)."""
    return report.render_html(await get_report(request, first, last))


@router.get("/outcomes/{kind}")
async def get_outcomes(
    request: Request,
    kind: str,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 10_000,
) -> list[dict[str, Any]]:
    """Record ids dropped as duplicates or flagged (late, backlog of a silent source), with
    the rule: what the evaluation compares with the simulator's labels. Paged by ``after``."""
    rules = OUTCOME_RULES.get(kind)
    if rules is None:
        raise HTTPException(404, f"unknown outcome {kind!r}; one of {sorted(OUTCOME_RULES)}")
    async with _runtime(request).sessions() as session:
        return await repository.record_ids_with(session, rules, after, limit)
