"""Scoring's decisions in the matcher (R-7.5.2.3) and auxiliary forwarding (R-7.4.3),
against a real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign.bus import Batch, Envelope, encode
from lifesign.catalogue import CertificationMethod
from lifesign.certification import Status
from lifesign.clock import FixedClock
from lifesign.events import FeatureContribution, ScoringDecision, deterministic_id
from lifesign.messaging import Outbox
from lifesign.testing import migrated
from lifesign.topics import EVENTS_AUXILIARY
from lifesign_matcher import repository
from lifesign_matcher.consumers import Certifier, DecisionHandler, RegistryHandler, ValidatedHandler
from lifesign_matcher.main import SPEC
from lifesign_matcher.models import matched_event, messaging

from .test_matcher_db import NOW, batch, event, handle, pensioner, published


@pytest.fixture
async def sessions(own_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(own_database, SPEC) as sessions:
        yield sessions


def decision(n: int, *, confirmed: bool, at: datetime = NOW) -> ScoringDecision:
    return ScoringDecision(
        decision_id=deterministic_id("decision", str(n), at.isoformat(), str(confirmed)),
        pseudonym=f"{n:064x}",
        as_of=at.date(),
        proof_at=at - timedelta(days=2),
        decided_at=at,
        confirmed=confirmed,
        alive_probability=0.9991 if confirmed else 0.41,
        threshold=0.998,
        model_version="xgb-2026-11-01",
        contributions=[
            FeatureContribution(feature="days_since_medical", value=3, contribution=1.2)
        ],
    )


async def setup(
    sessions: async_sessionmaker[AsyncSession], last_certified_on: date
) -> tuple[Certifier, DecisionHandler]:
    certifier = Certifier(outbox=Outbox(messaging.outbox), clock=FixedClock(NOW))
    record = pensioner(1).model_copy(update={"last_certified_on": last_certified_on})
    await handle(sessions, RegistryHandler(certifier=certifier), batch(record))
    return certifier, DecisionHandler(certifier=certifier)


async def test_a_confirmed_decision_is_a_big_data_aux_proof_of_life_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, handler = await setup(sessions, date(2026, 1, 10))  # in the warning period on NOW
    confirmed = decision(1, confirmed=True)
    await handle(sessions, handler, batch(confirmed))
    await handle(sessions, handler, batch(confirmed, confirmed))  # redelivered

    changes = await published(sessions)
    assert [c.to_status for c in changes] == [Status.WARNING, Status.ELIGIBLE]
    last = changes[-1]
    assert last.last_proof_method is CertificationMethod.BIG_DATA_AUX
    assert last.validity_start == (NOW - timedelta(days=2)).date()  # from the proof
    assert last.evidence == [confirmed.decision_id]
    async with sessions() as session:
        explained = await repository.explain(session, f"{1:064x}")
    assert explained is not None
    assert explained["scoring_decisions"][0]["model_version"] == "xgb-2026-11-01"
    assert explained["scoring_decisions"][0]["contributions"][0]["feature"] == "days_since_medical"


async def test_not_confirmed_in_the_warning_period_is_pending_now(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, handler = await setup(sessions, date(2026, 1, 10))
    await handle(sessions, handler, batch(decision(1, confirmed=False)))

    changes = await published(sessions)
    assert [(c.to_status, c.rule) for c in changes][-1] == (Status.PENDING, "R-7.5.2.3")
    assert changes[-1].hold_payment is False  # scoring never suspends anyone


async def test_not_confirmed_outside_the_warning_period_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, handler = await setup(sessions, date(2026, 6, 1))  # eligible until March 2027
    await handle(sessions, handler, batch(decision(1, confirmed=False)))
    assert [c.to_status for c in await published(sessions)] == [Status.ELIGIBLE]


async def test_a_decision_about_someone_not_registered_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, handler = await setup(sessions, date(2026, 1, 10))
    await handle(sessions, handler, batch(decision(7, confirmed=True)))
    async with sessions() as session:
        assert await repository.explain(session, f"{7:064x}") is None


async def test_auxiliary_events_go_on_to_scoring_unchanged_without_a_database_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(messaging.outbox)
    certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
    trip = event(1, "transit_trip", "T-1", NOW - timedelta(hours=3), line="2")
    raw = encode(trip)
    b: Batch[object] = Batch([Envelope(trip, "t", 0, 0, None, [], 0, raw)])
    await handle(sessions, ValidatedHandler(certifier=certifier, outbox=outbox), b)

    [message] = b.outgoing
    assert message.topic == EVENTS_AUXILIARY and message.key == trip.person.pseudonym
    forwarded = json.loads(message.value)
    assert forwarded["outcome"] == "auxiliary" and forwarded["event"] == json.loads(raw)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(matched_event)) == 0
