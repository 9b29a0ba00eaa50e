"""The payment rules, pure: when a state change means SUSPEND or RESTORE (R-7.9, R-7.11).

A change that holds payment suspends a pensioner who is being paid. A change that lifts
the hold restores a suspended pensioner, with arrears from the suspension date (R-7.11),
except when a prison term fell in the suspension: benefits for the months served are not
paid (policy; conservative: arrears for the months before the sentence are left to a
reviewer).

While payment is held, the payment system is told when the *cause* changes between the
three that matter to it (:func:`cause_of`): lost eligibility by death, lost eligibility by
prison, and any other hold (a lapsed certification, a conflict). One SUSPEND restates the
suspension, from the same date, with the new cause:

* a death or a sentence while already suspended for another cause is recorded in the
  business system (R-7.8): the payment system reclaims what was paid after a death, and
  pays no arrears for a sentence;
* a death that no longer stands (a reviewer retracted it, R-7.11, or later proof of life
  conflicts with it, R-7.5.1d) while payment stays held is withdrawn the same way, so the
  payment system does not go on treating a living pensioner as dead.

Other holds while suspended send nothing. Changes older than the last one applied (by
per-person version) are ignored, so a reordered or replayed topic cannot undo a newer
decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from lifesign.certification import PaymentCommand, PaymentCommandKind, StateChange
from lifesign.events import deterministic_id

#: The rules of lost eligibility (lifesign.certification.status_on).
DEATH_RULES = frozenset({"R-7.5.1b"})
PRISON_RULES = frozenset({"R-7.5.1b-prison"})


class Cause(StrEnum):
    """Why payment is held, as far as the payment system must know."""

    DEATH = "death"
    PRISON = "prison"
    HELD = "held"  # anything else: a lapsed certification, a conflict (R-7.5.1d)


def cause_of(rule: str | None) -> Cause:
    if rule in DEATH_RULES:
        return Cause.DEATH
    if rule in PRISON_RULES:
        return Cause.PRISON
    return Cause.HELD


@dataclass(frozen=True, slots=True)
class PaymentState:
    suspended: bool
    suspended_since: date | None
    suspension_rule: str | None  # the rule behind the cause the payment system was told
    last_version: int
    #: A prison term fell within this suspension: its restoration pays no arrears.
    prison_served: bool = False


NEW = PaymentState(suspended=False, suspended_since=None, suspension_rule=None, last_version=0)


def decide(
    change: StateChange, current: PaymentState, *, now: datetime
) -> tuple[PaymentState, PaymentCommand | None]:
    """The next payment state and the command to send, if any."""
    if change.version <= current.last_version:
        return current, None
    prison = change.hold_payment and cause_of(change.rule) is Cause.PRISON
    if change.hold_payment and not current.suspended:
        state = PaymentState(True, change.as_of, change.rule, change.version, prison)
        return state, _command(change, PaymentCommandKind.SUSPEND, None, now)
    if change.hold_payment and cause_of(change.rule) is not cause_of(current.suspension_rule):
        served = current.prison_served or prison
        state = PaymentState(True, current.suspended_since, change.rule, change.version, served)
        return state, _command(change, PaymentCommandKind.SUSPEND, None, now)
    if not change.hold_payment and current.suspended:
        arrears = None if current.prison_served else current.suspended_since
        state = PaymentState(False, None, None, change.version)
        return state, _command(change, PaymentCommandKind.RESTORE, arrears, now)
    return PaymentState(
        current.suspended,
        current.suspended_since,
        current.suspension_rule,
        change.version,
        current.prison_served,
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
