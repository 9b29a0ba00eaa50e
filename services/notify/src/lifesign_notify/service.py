"""Which state changes call for an SMS (R-8.2.5), pure.

R-8.2.5: remind people in the warning period to certify, and tell people whose benefits
are suspended. Nobody is texted about a death: a LOST status is never a reminder.
"""

from __future__ import annotations

from enum import StrEnum

from lifesign.certification import StateChange, Status


class ReminderKind(StrEnum):
    WARNING = "warning"  # validity ends within 3 months, please certify
    SUSPENDED = "suspended"  # benefits suspended for want of certification


def reminder_for(change: StateChange) -> ReminderKind | None:
    if change.to_status is change.from_status:
        return None
    if change.to_status is Status.WARNING:
        return ReminderKind.WARNING
    if change.to_status is Status.SUSPENDED:
        return ReminderKind.SUSPENDED
    return None
