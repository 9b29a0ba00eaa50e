"""The scheduled checks (table 1): overall completeness and late deliveries.

They judge a day of a source, not one event, so they run over what quality stored
(``quality_count``, ``seen_event``) once the day's records are in: periodically in
service (``LIFESIGN_VOLUME_CHECK_INTERVAL_S``) and on demand (``POST /checks``). A re-run
over the same days finds the same things and flags nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign.catalogue import UnknownSource, get_source
from lifesign_quality import repository
from lifesign_quality.service import (
    BACKLOG_WITHIN,
    HELD_ARRIVAL_DAYS,
    HELD_NEIGHBOUR_DAYS,
    LATE_DELIVERY_MARGIN,
    VOLUME_WINDOW_DAYS,
    backlogs,
    catch_up_end,
    clustered_arrival,
    days_without,
    empty_days,
    held_back_arrival,
    observed_timeliness_limit,
    share_at_least,
    volume_findings,
)


@dataclass
class CheckResult:
    first: date
    last: date
    silent_days: int = 0
    flood_days: int = 0
    backlog_flagged: int = 0
    late_deliveries: int = 0
    late_flagged: int = 0
    held_back: int = 0
    held_flagged: int = 0
    stale_flagged: int = 0
    silent: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "silent_days": self.silent_days,
            "flood_days": self.flood_days,
            "backlog_flagged": self.backlog_flagged,
            "late_deliveries": self.late_deliveries,
            "late_flagged": self.late_flagged,
            "held_back_batches": self.held_back,
            "held_back_flagged": self.held_flagged,
            "stale_flagged": self.stale_flagged,
            "silent": self.silent,
        }


async def run_checks(
    sessions: async_sessionmaker[AsyncSession], first: date, last: date
) -> CheckResult:
    """Judge every source's days in [first, last] (in one transaction)."""
    result = CheckResult(first, last)
    async with sessions.begin() as session:
        history = first - timedelta(days=VOLUME_WINDOW_DAYS + HELD_ARRIVAL_DAYS[1] + 1)
        daily = await repository.daily_received(session, history, last)
        found = volume_findings(daily, first, last)
        await repository.save_volume_findings(session, found)
        result.silent_days = sum(f.kind == "silent" for f in found)
        result.flood_days = sum(f.kind == "flood" for f in found)
        floods = {(f.source, f.day): f.usual for f in found if f.kind == "flood"}
        for source, begin, end, flood in backlogs(found, BACKLOG_WITHIN):
            caught_up = catch_up_end(daily[source], flood, floods[(source, flood)])
            flagged = await repository.flag_backlog(session, source, begin, end, caught_up)
            result.backlog_flagged += flagged
            result.silent.append(
                {"source": source, "first": str(begin), "last": str(end), "flagged": flagged}
            )
        margin = LATE_DELIVERY_MARGIN.total_seconds() / 86400
        late = await repository.late_deliveries(session, first, last, margin)
        result.late_deliveries = len(late)
        for d in late:
            result.late_flagged += await repository.flag_late_delivery(
                session, d["source"], d["day"], float(d["usual_age"]), float(d["day_age"])
            )
        await _held_back(session, daily, first, last, result)
        await _stale(session, first, last, result)
    return result


async def _stale(session: AsyncSession, first: date, last: date, result: CheckResult) -> None:
    """Q-TIM-01 against the delay each source shows (over the 90 days before ``first`` to
    ``last``), where that is shorter than the catalogue's (R-7.3.2 update timeliness)."""
    usual = await repository.usual_ages(session, first - timedelta(days=90), last)
    for code, age in sorted(usual.items()):
        try:
            source = get_source(code)
        except UnknownSource:
            continue
        limit = observed_timeliness_limit(source, age)
        if limit is not None:
            result.stale_flagged += await repository.flag_stale(
                session, code, first, last, limit, age
            )


async def _held_back(
    session: AsyncSession,
    daily: dict[str, dict[date, int]],
    first: date,
    last: date,
    result: CheckResult,
) -> None:
    """Q-TIM-03 over the empty days whose batches could have arrived by ``last``: against
    the source's usual volume and delays where it sends every day, else (and for any
    source) by the cluster its batch makes on arrival (``clustered_arrival``)."""
    low, high = HELD_ARRIVAL_DAYS
    shares: dict[str, Any] = {}
    judged: set[tuple[str, date]] = set()
    for source, empty, usual in empty_days(daily, first - timedelta(days=high), last):
        if source not in shares:
            histogram = await repository.age_histogram(
                session, source, first - timedelta(days=90), last
            )
            shares[source] = share_at_least(histogram)
        begin, end = empty + timedelta(days=low), min(empty + timedelta(days=high), last)
        if end < begin:
            continue
        old = await repository.old_records_by_day(session, source, empty, begin, end)
        arrival = held_back_arrival(empty, usual, old, shares[source])
        if arrival is not None:
            judged.add((source, empty))
            result.held_back += 1
            result.held_flagged += await repository.flag_held_back(session, source, empty, arrival)
    # Any source, from its first day: a batch held back by one that sends little shows
    # only as a cluster of old records on the day it arrives (R-7.3.2 update timeliness).
    arrivals: dict[str, dict[date, list[date]]] = {}
    clusters: set[tuple[str, date]] = set()
    for source, empty in days_without(daily, first - timedelta(days=high), last):
        if (source, empty) in judged or empty + timedelta(days=low) > last:
            continue
        if source not in arrivals:
            since = max(min(daily[source]), first - timedelta(days=high - low))
            arrivals[source] = await repository.arrivals_by_occurrence(
                session, source, since - timedelta(days=HELD_NEIGHBOUR_DAYS), last
            )
        arrival = clustered_arrival(empty, arrivals[source], last)
        if arrival is not None:
            # A sparse source's empty days run close together: each later one before the
            # batch's finds the same cluster (one batch; its records are flagged once).
            result.held_back += (source, arrival) not in clusters
            clusters.add((source, arrival))
            result.held_flagged += await repository.flag_held_back(session, source, empty, arrival)


async def days_received(sessions: async_sessionmaker[AsyncSession]) -> tuple[date, date] | None:
    """The first and last day anything arrived (what a full check covers)."""
    async with sessions() as session:
        rows = await repository.counts(session)
    if not rows:
        return None
    return rows[0]["day"], rows[-1]["day"]
