"""The payment rules, pure: when a state change means SUSPEND or RESTORE (R-7.9, R-7.11).

A change that holds payment suspends a pensioner who is being paid. A change that lifts
the hold restores a suspended pensioner, with arrears from the suspension date (R-7.11),
except after a prison term: benefits for the months served are not paid (policy).
Lost eligibility (death, prison) is recorded in the business system (R-7.8) even when
payment is already held for another cause (a lapsed certification, a conflict): the
suspension is restated with the new cause, so that the payment system knows the person
died (and reclaims what was paid since) or is serving a sentence (no arrears for it).
Changes older than the last one applied (by per-person version) are ignored, so a
reordered or replayed topic cannot undo a newer decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from lifesign.certification import PaymentCommand, PaymentCommandKind, StateChange
from lifesign.events import deterministic_id

PRISON_RULES = frozenset({"R-7.5.1b-prison"})
#: The rules of lost eligibility (lifesign.certification.status_on): death, prison.
LOST_RULES = frozenset({"R-7.5.1b", *PRISON_RULES})


@dataclass(frozen=True, slots=True)
class PaymentState:
    suspended: bool
    suspended_since: date | None
    suspension_rule: str | None
    last_version: int


NEW = PaymentState(suspended=False, suspended_since=None, suspension_rule=None, last_version=0)


def decide(
    change: StateChange, current: PaymentState, *, now: datetime
) -> tuple[PaymentState, PaymentCommand | None]:
    """The next payment state and the command to send, if any."""
    if change.version <= current.last_version:
        return current, None
    if change.hold_payment and not current.suspended:
        state = PaymentState(True, change.as_of, change.rule, change.version)
        return state, _command(change, PaymentCommandKind.SUSPEND, None, now)
    if change.hold_payment and change.rule in LOST_RULES and change.rule != current.suspension_rule:
        # Lost eligibility while already suspended for another cause: the suspension is
        # restated with it, from the same date. After a prison term the months
        # served must not come back as arrears, so the suspension now counts as a prison
        # one (conservative: arrears for the months before the sentence are left to a
        # reviewer).
        state = PaymentState(True, current.suspended_since, change.rule, change.version)
        return state, _command(change, PaymentCommandKind.SUSPEND, None, now)
    if not change.hold_payment and current.suspended:
        arrears = None if current.suspension_rule in PRISON_RULES else current.suspended_since
        state = PaymentState(False, None, None, change.version)
        return state, _command(change, PaymentCommandKind.RESTORE, arrears, now)
    return PaymentState(
        current.suspended, current.suspended_since, current.suspension_rule, change.version
    ), None


def _command(
    change: StateChange, kind: PaymentCommandKind, arrears_from: date | None, now: datetime
) -> PaymentCommand:
    reason = f"{change.to_status.value} ({change.rule})"
    if change.conflict:
        reason += f": {change.conflict}"
    return PaymentCommand(
        command_id=deterministic_id("payment-command", str(change.change_id), kind.value),
        kind=kind,
        pseudonym=change.pseudonym,
        effective_date=change.as_of,
        arrears_from=arrears_from,
        reason=reason,
        cause_change_id=change.change_id,
        issued_at=now,
    )
