"""The daily sweep against a real PostgreSQL: time alone moves people (R-6.3, R-6.4, R-7.9),
one run per date, missed dates caught up in order."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign.bus import Batch, Envelope
from lifesign.certification import StateChange, Status
from lifesign.clock import FixedClock
from lifesign.events import BenefitStatus, InsuranceType, PensionerRecord
from lifesign.messaging import Outbox
from lifesign.testing import migrated
from lifesign_matcher.consumers import Certifier, RegistryHandler
from lifesign_matcher.main import SPEC
from lifesign_matcher.models import messaging
from lifesign_matcher.sweep import Sweeper

NOW = datetime(2026, 12, 3, 10, tzinfo=UTC)


@pytest.fixture
async def sessions(own_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(own_database, SPEC) as sessions:
        yield sessions


def pensioner(n: int, certified: date) -> PensionerRecord:
    return PensionerRecord(
        pseudonym=f"{n:064x}",
        name_digest="b" * 64,
        person_id=f"P{n}",
        id_masked="110105********0011",
        name_masked="张*",
        sex="M",
        birth_date=date(1941, 3, 15),
        insurance_type=InsuranceType.ENTERPRISE,
        benefit_status=BenefitStatus.NORMAL,
        benefit_start=date(2001, 4, 1),
        registration_region="110105",
        benefit_region="110105",
        last_certified_on=certified,
        updated_at=datetime(2025, 7, 1, tzinfo=UTC),
    )


async def changes(sessions: async_sessionmaker[AsyncSession]) -> list[StateChange]:
    async with sessions() as session:
        rows = (
            await session.execute(select(messaging.outbox.c.value).order_by(messaging.outbox.c.id))
        ).scalars()
        return [StateChange.model_validate_json(v) for v in rows]


async def test_time_alone_moves_a_pensioner_through_warning_pending_and_suspension(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    certifier = Certifier(outbox=Outbox(messaging.outbox), clock=FixedClock(NOW))
    async with sessions.begin() as session:
        records = [pensioner(1, date(2025, 6, 1)), pensioner(2, date(2025, 11, 30))]
        await RegistryHandler(certifier=certifier)(
            session, Batch([Envelope(r, "t", 0, i, None, [], 0) for i, r in enumerate(records)])
        )
    sweeper = Sweeper(sessions=sessions, certifier=certifier)

    first = await sweeper.run_through(date(2026, 2, 28))  # the first run does not replay history
    assert [(r.day, r.changes) for r in first] == [(date(2026, 2, 28), 0)]
    assert [r.day for r in await sweeper.run_through(date(2026, 3, 1))] == [date(2026, 3, 1)]
    assert await sweeper.run_through(date(2026, 3, 1)) == []  # one run per date
    caught_up = await sweeper.run_through(date(2026, 9, 1))
    assert len(caught_up) == 184 and caught_up[-1].day == date(2026, 9, 1)

    mine = [
        (c.to_status, c.as_of, c.rule)
        for c in await changes(sessions)
        if c.pseudonym == f"{1:064x}"
    ]
    assert mine == [
        (Status.ELIGIBLE, date(2025, 7, 1), "R-6.2"),
        (Status.WARNING, date(2026, 3, 1), "R-6.3"),  # 3 months before 2026-06-01
        (Status.PENDING, date(2026, 6, 1), "R-6.4"),  # validity ended
        (Status.SUSPENDED, date(2026, 9, 1), "R-7.9"),  # pending period over
    ]
    other = [(c.to_status, c.as_of) for c in await changes(sessions) if c.pseudonym == f"{2:064x}"]
    assert other == [(Status.ELIGIBLE, date(2025, 7, 1)), (Status.WARNING, date(2026, 8, 30))]
