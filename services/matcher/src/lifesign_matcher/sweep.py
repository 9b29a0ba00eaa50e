"""The daily sweep: status changes caused by time alone (R-6.3, R-6.4, R-7.9).

A person whose evidence does not change still moves: into the warning period three months
before validity ends, into pending verification when it ends, into suspension three months
later, and out of prison on release. Once per date (catching up missed dates in order) the
sweep selects, with one set-based query, the people whose stored validity window puts them
across a boundary on that date, and re-evaluates exactly those through the same
:meth:`Certifier.reevaluate` as new evidence does, so a time-only change is published on
``state.changes.v1`` like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign.calendar import PENDING_MONTHS, WARNING_MONTHS
from lifesign.certification import Status
from lifesign.settings import TIMEZONE
from lifesign_matcher.consumers import Certifier
from lifesign_matcher.models import certification, loss_evidence, sweep_run

CHUNK = 5000
#: A first sweep does not replay history further back than this.
MAX_CATCH_UP_DAYS = 400


@dataclass(frozen=True)
class SweepResult:
    day: date
    candidates: int
    changes: int


def due_on(day: date) -> ColumnElement[bool]:
    """The set-based condition: people whose status may have moved by time on ``day``."""
    end = certification.c.validity_end
    # PostgreSQL's month arithmetic clamps to the month's end, as the calendar does.
    warning: ColumnElement[Any] = literal_column(f"interval '{WARNING_MONTHS} months'")
    pending: ColumnElement[Any] = literal_column(f"interval '{PENDING_MONTHS} months'")
    released = exists().where(
        and_(
            loss_evidence.c.pseudonym == certification.c.pseudonym,
            loss_evidence.c.released_on <= day,
        )
    )
    return or_(
        and_(certification.c.status == Status.ELIGIBLE.value, end - warning <= day),
        and_(certification.c.status == Status.WARNING.value, end <= day),
        and_(certification.c.status == Status.PENDING.value, end + pending <= day),
        and_(certification.c.rule == "R-7.5.1b-prison", released),
    )


class Sweeper:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], certifier: Certifier) -> None:
        self._sessions = sessions
        self._certifier = certifier

    async def run_through(self, through: date) -> list[SweepResult]:
        """Sweep every date not swept yet, in order, up to ``through``."""
        async with self._sessions() as session:
            last = await session.scalar(select(func.max(sweep_run.c.day)))
        first = (last + timedelta(days=1)) if last else through
        first = max(first, through - timedelta(days=MAX_CATCH_UP_DAYS))
        results = []
        day = first
        while day <= through:
            results.append(await self.sweep(day))
            day += timedelta(days=1)
        return results

    async def sweep(self, day: date) -> SweepResult:
        """One date: candidates by one query, re-evaluated in chunks, the run recorded."""
        async with self._sessions() as session:
            candidates = list(
                (
                    await session.execute(select(certification.c.pseudonym).where(due_on(day)))
                ).scalars()
            )
        moment = datetime.combine(day, time(), tzinfo=TIMEZONE)
        changes = 0
        for chunk in _chunks(candidates, CHUNK):
            async with self._sessions.begin() as session:
                changes += await self._certifier.reevaluate(
                    session, dict.fromkeys(chunk, moment), {}
                )
        async with self._sessions.begin() as session:
            statement = insert(sweep_run).values(day=day, changes=changes)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[sweep_run.c.day],
                    set_={"changes": sweep_run.c.changes + statement.excluded.changes},
                )
            )
        return SweepResult(day, len(candidates), changes)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
