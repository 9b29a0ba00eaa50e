"""Daily decisions (R-7.5.2.3): the champion model on everyone in the warning period.

Once per date (a scheduled job, or ``POST /decide?through=`` for a simulation), pensioners
in the warning period that have not been decided for this validity period are scored in
chunks: features from this service's own tables, inference off the event loop (a worker
thread: xgboost releases the GIL), the model loaded once per version. Each decision goes to
``decisions.v1`` through the outbox with the model version and the top contributions.
Confirmed: a proof of life for the matcher (method ``big_data_aux``), on any day of the
warning period. Not confirmed: the matcher moves the person to pending verification, which
sends their case to the office (R-7.6.1); so a person the model cannot confirm is scored
again each day and "not confirmed" is published only in the last ``grace_days`` before
validity ends. The reminders of the warning period (R-6.3) get their chance first: the
model confirms only a few per cent at a 0.1% dead-certified threshold, and moving the
rest to pending on their first warning day would send most of them to the offices though
85% certify themselves once reminded. Scoring never suspends anyone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import topics
from lifesign.bus import OutMessage
from lifesign.clock import Clock
from lifesign.events import FeatureContribution, ScoringDecision, deterministic_id
from lifesign.messaging import Outbox
from lifesign.settings import TIMEZONE
from lifesign_scoring import repository
from lifesign_scoring.features import (
    INSURANCE_TYPES,
    PROOF_METHODS,
    SOURCE_INDEX,
    WINDOWS,
    Population,
    Trail,
    compute,
)

if TYPE_CHECKING:  # xgboost and scikit-learn load with the first model, not at start-up
    from lifesign_scoring.learning import Model

CHUNK = 5000


class ModelCache:
    """The champion, deserialised once per version (not once per batch)."""

    def __init__(self) -> None:
        self._loaded: Model | None = None

    async def champion(self, session: AsyncSession) -> Model | None:
        found = await repository.champion(session)
        if found is None:
            return None
        version, blob = found
        if self._loaded is None or self._loaded.version != version:
            from lifesign_scoring.learning import load_model

            self._loaded = await asyncio.to_thread(load_model, blob)
        return self._loaded


@dataclass(frozen=True)
class DecideResult:
    day: date
    model_version: str | None
    decided: int
    confirmed: int
    deferred: int = 0  # not confirmed yet, scored again on a later day


class Decider:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        clock: Clock,
        enabled: bool = True,
        grace_days: int = 30,
    ) -> None:
        self._sessions = sessions
        self._outbox = outbox
        self._clock = clock
        self._enabled = enabled
        self._grace = timedelta(days=grace_days)
        self.models = ModelCache()

    async def run_through(self, day: date) -> DecideResult:
        """Decide for everyone due on ``day``; a re-run publishes nothing new."""
        decided = confirmed = deferred = 0
        version: str | None = None
        first: date | None = None  # the trail's first day, read once per run
        after: str | None = None
        while self._enabled:
            async with self._sessions.begin() as session:
                model = await self.models.champion(session)
                if model is None:
                    break
                version = model.version
                due = await repository.due_for_decision(session, day, CHUNK, after)
                if not due:
                    break
                after = due[-1].pseudonym
                if first is None:
                    first = await repository.history_start(session) or day
                messages = await self._decide(session, model, due, day, first)
                decided += len(messages)
                confirmed += sum(1 for m in messages if m.confirmed)
                deferred += len(due) - len(messages)
            if len(due) < CHUNK:
                break
        return DecideResult(day, version, decided, confirmed, deferred)

    async def _decide(
        self, session: AsyncSession, model: Model, due: Sequence[Any], day: date, first: date
    ) -> list[ScoringDecision]:
        pseudonyms = [r.pseudonym for r in due]
        since = day - timedelta(days=max(WINDOWS) - 1)
        trail_rows = await repository.behaviour_of(session, pseudonyms, since, day)
        scored = await asyncio.to_thread(
            score, model, due, trail_rows, day, first, self._clock.now()
        )
        kept = [
            (d, r)
            for d, r in zip(scored, due, strict=True)
            if d.confirmed or day >= r.validity_end - self._grace
        ]
        decisions = [d for d, _ in kept]
        rows = [
            {
                "decision_id": d.decision_id,
                "pseudonym": d.pseudonym,
                "validity_end": r.validity_end,
                "as_of": d.as_of,
                "model_version": d.model_version,
                "confirmed": d.confirmed,
                "alive_probability": d.alive_probability,
                "decided_at": d.decided_at,
            }
            for d, r in kept
        ]
        fresh = await repository.add_decisions(session, rows)
        new = [d for d in decisions if d.decision_id in fresh]
        await self._outbox.add(
            session, [OutMessage.of(topics.DECISIONS, d, key=d.pseudonym) for d in new]
        )
        return new


def score(
    model: Model,
    due: Sequence[Any],
    trail_rows: Sequence[Any],
    day: date,
    history_start: date,
    now: datetime,
) -> list[ScoringDecision]:
    """Features, probabilities and explanations for one chunk (CPU work, no I/O)."""
    index = {r.pseudonym: i for i, r in enumerate(due)}
    population = _population(due)
    known = [t for t in trail_rows if t.source in SOURCE_INDEX]
    trail = Trail(
        np.array([index[t.pseudonym] for t in known], dtype=np.int64),
        np.array([SOURCE_INDEX[t.source] for t in known], dtype=np.int64),
        np.array([t.day.toordinal() for t in known], dtype=np.int64),
        np.array([t.events for t in known], dtype=np.int64),
    )
    x = compute(population, trail, day.toordinal(), history_start.toordinal())
    p, confirmed = model.decide(x)
    explanations = model.contributions(x)
    latest: dict[str, datetime] = {}
    for t in known:
        if t.pseudonym not in latest or t.last_at > latest[t.pseudonym]:
            latest[t.pseudonym] = t.last_at
    end_of_day = datetime.combine(day, time(23, 59, 59), tzinfo=TIMEZONE)
    # A decision is made as of its date: a catch-up or a simulated date is dated at that
    # day's end, not at the wall clock (the matcher dates the fold by ``decided_at``).
    decided_at = min(now, end_of_day)
    return [
        ScoringDecision(
            decision_id=deterministic_id("decision", r.pseudonym, day.isoformat(), model.version),
            pseudonym=r.pseudonym,
            as_of=day,
            proof_at=latest.get(r.pseudonym, end_of_day),
            decided_at=decided_at,
            confirmed=bool(confirmed[i]),
            alive_probability=float(np.clip(p[i], 0.0, 1.0)),
            threshold=float(model.threshold),
            model_version=model.version,
            contributions=[
                FeatureContribution(feature=f, value=v, contribution=c)
                for f, v, c in explanations[i]
            ],
        )
        for i, r in enumerate(due)
    ]


def _population(due: Sequence[Any]) -> Population:
    proof = [r.last_proof_at for r in due]
    return Population(
        birth=np.array([r.birth_date.toordinal() for r in due], dtype=np.int64),
        male=np.array([r.sex == "M" for r in due], dtype=bool),
        insurance=np.array(
            [_index(INSURANCE_TYPES, r.insurance_type) for r in due], dtype=np.int64
        ),
        benefit_normal=np.array([r.benefit_status == "normal" for r in due], dtype=bool),
        last_proof=np.array(
            [p.astimezone(TIMEZONE).date().toordinal() if p else -1 for p in proof], dtype=np.int64
        ),
        proof_method=np.array([_index(PROOF_METHODS, r.last_method) for r in due], dtype=np.int64),
    )


def _index(values: tuple[str, ...], value: str | None) -> int:
    return values.index(value) if value in values else -1
