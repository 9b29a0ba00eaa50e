"""Tests for lifesign_notify.service: which state changes call for an SMS (R-8.2.5)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from lifesign.certification import StateChange, Status
from lifesign.events import deterministic_id
from lifesign_notify.service import ReminderKind, reminder_for

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def change(from_status: Status | None, to_status: Status) -> StateChange:
    return StateChange(
        change_id=deterministic_id("state-change", "a" * 64, "2"),
        version=2,
        pseudonym="a" * 64,
        from_status=from_status,
        to_status=to_status,
        rule="R-6.3",
        hold_payment=to_status in (Status.SUSPENDED, Status.LOST),
        as_of=date(2026, 3, 1),
        changed_at=NOW,
    )


@pytest.mark.parametrize(
    ("from_status", "to_status", "kind"),
    [
        (Status.ELIGIBLE, Status.WARNING, ReminderKind.WARNING),  # please certify
        (None, Status.WARNING, ReminderKind.WARNING),
        (Status.PENDING, Status.SUSPENDED, ReminderKind.SUSPENDED),
        (Status.ELIGIBLE, Status.LOST, None),  # nobody is texted about a death
        (Status.WARNING, Status.LOST, None),
        (Status.WARNING, Status.PENDING, None),
        (Status.SUSPENDED, Status.ELIGIBLE, None),
        (Status.WARNING, Status.WARNING, None),  # unchanged status: already reminded
        (Status.SUSPENDED, Status.SUSPENDED, None),
    ],
)
def test_reminder_for_r_8_2_5(
    from_status: Status | None, to_status: Status, kind: ReminderKind | None
) -> None:
    assert reminder_for(change(from_status, to_status)) is kind


def test_reminder_for_a_decoded_change() -> None:
    """Changes arrive as JSON: the status comparison must survive a round trip."""
    decoded = StateChange.model_validate_json(
        change(Status.WARNING, Status.WARNING).model_dump_json()
    )
    assert reminder_for(decoded) is None
    fresh = StateChange.model_validate_json(
        change(Status.ELIGIBLE, Status.WARNING).model_dump_json()
    )
    assert reminder_for(fresh) is ReminderKind.WARNING
