"""The three lists on any date and for a jurisdiction (R-7.5.3), on a real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign.bus import Batch, Envelope
from lifesign.certification import StateChange, Status
from lifesign.testing import migrated
from lifesign_lists import repository
from lifesign_lists.consumers import on_state_change
from lifesign_lists.main import SPEC


@pytest.fixture
async def sessions(own_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(own_database, SPEC) as sessions:
        yield sessions


def change(n: int, version: int, status: Status, as_of: date, region: str) -> StateChange:
    return StateChange(
        change_id=uuid.uuid4(),
        version=version,
        pseudonym=f"{n:064x}",
        from_status=None,
        to_status=status,
        rule="test",
        hold_payment=status in (Status.LOST, Status.SUSPENDED),
        as_of=as_of,
        changed_at=datetime(2026, 1, 1, tzinfo=UTC),
        benefit_region=region,
    )


async def test_lists_as_they_stood_on_a_date_and_by_jurisdiction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    changes = [
        change(1, 1, Status.ELIGIBLE, date(2025, 1, 1), "410102"),
        change(1, 2, Status.LOST, date(2025, 6, 1), "410102"),
        change(2, 1, Status.WARNING, date(2025, 1, 1), "410203"),
        change(2, 2, Status.PENDING, date(2025, 3, 1), "410203"),
        change(2, 3, Status.ELIGIBLE, date(2025, 4, 1), "410203"),
        change(3, 1, Status.ELIGIBLE, date(2025, 2, 1), "110105"),
    ]
    async with sessions.begin() as session:
        # Delivered out of order and twice: history and the current view are still right.
        items = [Envelope(c, "t", 0, i, None, [], 0) for i, c in enumerate(changes[::-1] + changes)]
        await on_state_change(session, Batch(items))
    async with sessions() as session:
        assert await repository.counts_on(session, date(2025, 1, 15), None) == {
            "eligible": 1,
            "warning": 1,
        }
        assert await repository.counts_on(session, date(2025, 3, 15), "41") == {
            "eligible": 1,
            "pending": 1,
        }
        assert await repository.counts_on(session, date(2025, 7, 1), "4101") == {"lost": 1}
        pending = await repository.people_on(
            session, date(2025, 3, 15), [Status.PENDING], None, 10, 0
        )
        assert [p["pseudonym"] for p in pending] == [f"{2:064x}"]
        assert await repository.counts(session, None) == {"lost": 1, "eligible": 2}
