"""Daily decisions and the model registry against a real PostgreSQL (R-7.5.2.3, R-8.2.4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign.certification import StateChange, Status
from lifesign.clock import FixedClock
from lifesign.events import (
    BenefitStatus,
    InsuranceType,
    PensionerRecord,
    ScoringDecision,
    deterministic_id,
)
from lifesign.messaging import Outbox
from lifesign.testing import migrated
from lifesign_scoring import repository
from lifesign_scoring.decide import Decider
from lifesign_scoring.features import COLUMN, FEATURES
from lifesign_scoring.learning import Dataset, ScoringModel, Split, train
from lifesign_scoring.main import SPEC
from lifesign_scoring.models import messaging

DAY = date(2026, 6, 30)
NOW = datetime(2026, 7, 1, 2, tzinfo=UTC)
ACTIVE, CARD_ONLY, QUIET, ELIGIBLE = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)


@pytest.fixture
async def sessions(own_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(own_database, SPEC) as sessions:
        yield sessions


def toy_model(version: str) -> ScoringModel:
    """Alive when care was attended lately: enough to exercise the plumbing."""
    rng = np.random.default_rng(0)

    def part(n: int, as_of: int) -> Dataset:
        x = rng.random((n, len(FEATURES))).astype(np.float32) * 10
        alive = x[:, COLUMN["n90_care"]] > 1
        return Dataset(x, alive, np.full(n, as_of, dtype=np.int64))

    return train(Split(part(2000, 1), part(2000, 2), part(500, 3)), version=version, rounds=10)


def pensioner(pseudonym: str) -> PensionerRecord:
    return PensionerRecord(
        pseudonym=pseudonym, name_digest="e" * 64, person_id="P1", id_masked="x",
        name_masked="x", sex="F", birth_date=date(1950, 1, 1),
        insurance_type=InsuranceType.ENTERPRISE, benefit_status=BenefitStatus.NORMAL,
        benefit_start=date(2010, 1, 1), registration_region="110105", benefit_region="110105",
        updated_at=NOW - timedelta(days=200),
    )  # fmt: skip


def state(pseudonym: str, status: Status, version: int = 2) -> StateChange:
    return StateChange(
        change_id=deterministic_id("change", pseudonym, str(version)), version=version,
        pseudonym=pseudonym, from_status=Status.ELIGIBLE, to_status=status, rule="R-6.3",
        hold_payment=False, validity_end=DAY + timedelta(days=60),
        last_proof_of_life_at=NOW - timedelta(days=300), as_of=DAY - timedelta(days=1),
        changed_at=NOW,
    )  # fmt: skip


async def given(sessions: async_sessionmaker[AsyncSession]) -> None:
    people = [ACTIVE, CARD_ONLY, QUIET, ELIGIBLE]
    seen = NOW - timedelta(days=3)
    async with sessions.begin() as session:
        await repository.upsert_pensioners(session, [pensioner(p) for p in people])
        await repository.upsert_certification(
            session,
            [state(p, Status.WARNING) for p in people[:3]] + [state(ELIGIBLE, Status.ELIGIBLE)],
        )
        # an older change delivered late must not overwrite the newer one
        await repository.upsert_certification(session, [state(ACTIVE, Status.ELIGIBLE, 1)])
        behaviour = {}
        for k in range(5):
            day = DAY - timedelta(days=3 + 10 * k)
            behaviour[(ACTIVE, "outpatient_settlement", day)] = (1, seen - timedelta(days=10 * k))
            behaviour[(CARD_ONLY, "mobile_payment", day)] = (2, seen - timedelta(days=10 * k))
        # the future (after the decision date) is ignored
        behaviour[(QUIET, "outpatient_settlement", DAY + timedelta(days=2))] = (9, NOW)
        await repository.add_behaviour(session, behaviour)
        model = toy_model("toy-1")
        await repository.register_model(session, registry_row(model))
        await repository.promote(session, "toy-1", "tester", NOW)


def registry_row(model: ScoringModel) -> dict[str, object]:
    return {
        "version": model.version, "kind": "xgboost", "role": "challenger", "registered_at": NOW,
        "trained_from": None, "trained_to": None, "rows": 1, "threshold": model.threshold,
        "metrics": {}, "artifact": model.to_bytes(),
    }  # fmt: skip


async def published(sessions: async_sessionmaker[AsyncSession]) -> list[ScoringDecision]:
    async with sessions() as session:
        rows = (await session.execute(select(messaging.outbox))).all()
    return [ScoringDecision.model_validate_json(r.value) for r in rows]


async def test_decisions_for_the_warning_period_with_explanations_r_7_5_2_3(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await given(sessions)
    # grace_days=92: "not confirmed" published from the first day of the warning period.
    decider = Decider(
        sessions=sessions, outbox=Outbox(messaging.outbox), clock=FixedClock(NOW), grace_days=92
    )
    result = await decider.run_through(DAY)
    assert (result.decided, result.model_version) == (3, "toy-1")
    decisions = {d.pseudonym: d for d in await published(sessions)}
    assert set(decisions) == {ACTIVE, CARD_ONLY, QUIET}  # not the eligible one
    assert all(len(d.contributions) == 3 for d in decisions.values())
    assert decisions[ACTIVE].confirmed
    assert decisions[ACTIVE].proof_at == NOW - timedelta(days=3)  # the latest event used
    assert not decisions[CARD_ONLY].confirmed  # card payments alone never certify
    assert not decisions[QUIET].confirmed  # its only events are after the decision date
    assert all(d.model_version == "toy-1" and d.as_of == DAY for d in decisions.values())
    # decided as of the decision date's end (Beijing), not at the later wall clock
    assert all(
        d.decided_at == datetime(2026, 6, 30, 15, 59, 59, tzinfo=UTC) for d in decisions.values()
    )


async def test_a_rerun_publishes_nothing_new(sessions: async_sessionmaker[AsyncSession]) -> None:
    await given(sessions)
    decider = Decider(
        sessions=sessions, outbox=Outbox(messaging.outbox), clock=FixedClock(NOW), grace_days=92
    )
    await decider.run_through(DAY)
    again = await decider.run_through(DAY)
    assert again.decided == 0
    assert len(await published(sessions)) == 3


async def test_not_confirmed_waits_for_the_last_weeks_of_the_warning_period(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Validity ends 60 days after DAY: on DAY only the confirmed one is published (the
    reminders get their chance); 30 days before the end the others are decided."""
    await given(sessions)
    decider = Decider(sessions=sessions, outbox=Outbox(messaging.outbox), clock=FixedClock(NOW))
    first = await decider.run_through(DAY)
    assert (first.decided, first.confirmed, first.deferred) == (1, 1, 2)
    assert {d.pseudonym for d in await published(sessions)} == {ACTIVE}
    later = await decider.run_through(DAY + timedelta(days=30))
    assert (later.decided, later.deferred) == (2, 0)
    decisions = {d.pseudonym: d for d in await published(sessions)}
    assert set(decisions) == {ACTIVE, CARD_ONLY, QUIET}
    assert not decisions[CARD_ONLY].confirmed  # card payments alone never certify
    assert (await decider.run_through(DAY + timedelta(days=31))).decided == 0


async def test_switched_off_decides_nothing(sessions: async_sessionmaker[AsyncSession]) -> None:
    await given(sessions)
    decider = Decider(
        sessions=sessions, outbox=Outbox(messaging.outbox), clock=FixedClock(NOW), enabled=False
    )
    assert (await decider.run_through(DAY)).decided == 0
    assert await published(sessions) == []


async def test_promotion_and_rollback_r_8_2_4(sessions: async_sessionmaker[AsyncSession]) -> None:
    await given(sessions)
    async with sessions.begin() as session:
        await repository.register_model(session, registry_row(toy_model("toy-2")))
        assert not await repository.register_model(session, registry_row(toy_model("toy-2")))
        await repository.promote(session, "toy-2", "analyst", NOW + timedelta(hours=1))
        roles = {m["version"]: m for m in await repository.list_models(session)}
        assert roles["toy-2"]["role"] == "champion" and roles["toy-1"]["role"] == "retired"
        assert roles["toy-2"]["promoted_by"] == "analyst"
        assert await repository.previous_champion(session) == "toy-1"
        assert not await repository.promote(session, "nope", "analyst", NOW)
