"""Tests for lifesign_payments_bridge.service: SUSPEND and RESTORE (R-7.9, R-7.11).

ARCHITECTURE principle 2: commands carry deterministic ids; a change older than the last
one applied (by per-person version) is ignored.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from lifesign.certification import PaymentCommandKind, StateChange, Status
from lifesign.events import deterministic_id
from lifesign_payments_bridge.service import NEW, PaymentState, decide

SHANGHAI = ZoneInfo("Asia/Shanghai")
WHO = "a" * 64
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=SHANGHAI)


def change(
    version: int,
    to_status: Status,
    rule: str,
    *,
    hold: bool,
    as_of: date,
    conflict: str | None = None,
    from_status: Status | None = None,
) -> StateChange:
    return StateChange(
        change_id=deterministic_id("state-change", WHO, str(version)),
        version=version,
        pseudonym=WHO,
        from_status=from_status,
        to_status=to_status,
        rule=rule,
        conflict=conflict,
        hold_payment=hold,
        as_of=as_of,
        changed_at=NOW,
    )


DEATH = change(1, Status.LOST, "R-7.5.1b", hold=True, as_of=date(2026, 1, 10))
EXPIRED = change(1, Status.SUSPENDED, "R-7.9", hold=True, as_of=date(2026, 1, 10))
PRISON = change(1, Status.LOST, "R-7.5.1b-prison", hold=True, as_of=date(2026, 1, 10))


def test_a_hold_suspends_once_r_7_9() -> None:
    state, command = decide(DEATH, NEW, now=NOW)
    assert state == PaymentState(True, date(2026, 1, 10), "R-7.5.1b", 1)
    assert command is not None
    assert command.kind is PaymentCommandKind.SUSPEND
    assert command.pseudonym == WHO
    assert command.effective_date == date(2026, 1, 10)
    assert command.arrears_from is None
    assert command.reason == "lost (R-7.5.1b)"
    assert command.cause_change_id == DEATH.change_id
    assert command.issued_at == NOW


def test_suspend_reason_carries_the_conflict_r_7_5_1_d() -> None:
    conflict = "proof of life (app_12333) on 2026-01-12 after death"
    pending = change(
        1, Status.PENDING, "R-7.5.1d", hold=True, as_of=date(2026, 1, 12), conflict=conflict
    )
    _, command = decide(pending, NEW, now=NOW)
    assert command is not None
    assert command.reason == f"pending (R-7.5.1d): {conflict}"


def test_a_second_hold_while_suspended_sends_nothing() -> None:
    suspended, _ = decide(EXPIRED, NEW, now=NOW)
    later = change(2, Status.PENDING, "R-7.5.1d", hold=True, as_of=date(2026, 2, 1), conflict="x")
    state, command = decide(later, suspended, now=NOW)
    assert command is None
    # The suspension keeps its date and cause; only the version moves.
    assert state == PaymentState(True, date(2026, 1, 10), "R-7.9", 2)


def test_a_death_while_suspended_is_told_to_the_payment_system_r_7_8() -> None:
    """Suspended for a lapsed certification, then a death record: the payment system
    learns the new cause (one SUSPEND restating it, from the first suspension's date on
    record), and a second death record tells it nothing more."""
    suspended, _ = decide(EXPIRED, NEW, now=NOW)
    died = change(2, Status.LOST, "R-7.5.1b", hold=True, as_of=date(2026, 2, 1))
    state, command = decide(died, suspended, now=NOW)
    assert command is not None and command.kind is PaymentCommandKind.SUSPEND
    assert command.effective_date == date(2026, 2, 1)
    assert command.reason == "lost (R-7.5.1b)"
    assert state == PaymentState(True, date(2026, 1, 10), "R-7.5.1b", 2)
    again = change(3, Status.LOST, "R-7.5.1b", hold=True, as_of=date(2026, 2, 9))
    state, command = decide(again, state, now=NOW)
    assert command is None
    assert state == PaymentState(True, date(2026, 1, 10), "R-7.5.1b", 3)


def test_lifting_the_hold_restores_with_arrears_r_7_11() -> None:
    suspended, _ = decide(EXPIRED, NEW, now=NOW)
    certified = change(
        2,
        Status.ELIGIBLE,
        "R-6.2",
        hold=False,
        as_of=date(2026, 2, 20),
        from_status=Status.SUSPENDED,
    )
    state, command = decide(certified, suspended, now=NOW)
    assert state == PaymentState(False, None, None, 2)
    assert command is not None
    assert command.kind is PaymentCommandKind.RESTORE
    assert command.effective_date == date(2026, 2, 20)
    assert command.arrears_from == date(2026, 1, 10)  # the suspension date
    assert command.reason == "eligible (R-6.2)"
    assert command.cause_change_id == certified.change_id


def test_restore_after_prison_pays_no_arrears() -> None:
    suspended, _ = decide(PRISON, NEW, now=NOW)
    assert suspended.suspension_rule == "R-7.5.1b-prison"
    released = change(2, Status.ELIGIBLE, "R-6.2", hold=False, as_of=date(2026, 8, 1))
    _, command = decide(released, suspended, now=NOW)
    assert command is not None
    assert command.kind is PaymentCommandKind.RESTORE
    assert command.arrears_from is None


def test_old_or_replayed_changes_are_ignored() -> None:
    suspended, _ = decide(DEATH, NEW, now=NOW)
    replay = change(1, Status.ELIGIBLE, "R-6.2", hold=False, as_of=date(2026, 2, 1))
    assert decide(replay, suspended, now=NOW) == (suspended, None)
    assert decide(DEATH, suspended, now=NOW) == (suspended, None)  # redelivered
    newer = PaymentState(True, date(2026, 1, 10), "R-7.5.1b", 5)
    stale = change(4, Status.ELIGIBLE, "R-6.2", hold=False, as_of=date(2026, 2, 1))
    assert decide(stale, newer, now=NOW) == (newer, None)


def test_no_hold_while_paid_sends_nothing() -> None:
    eligible = change(1, Status.ELIGIBLE, "R-6.2", hold=False, as_of=date(2026, 1, 1))
    state, command = decide(eligible, NEW, now=NOW)
    assert (state, command) == (PaymentState(False, None, None, 1), None)
    warning = change(2, Status.WARNING, "R-6.3", hold=False, as_of=date(2026, 10, 1))
    assert decide(warning, state, now=NOW) == (PaymentState(False, None, None, 2), None)


def test_command_ids_are_deterministic() -> None:
    """ARCHITECTURE principle 2: a replayed change gives the same command id."""
    _, first = decide(DEATH, NEW, now=NOW)
    _, again = decide(DEATH, NEW, now=datetime(2026, 3, 2, tzinfo=SHANGHAI))
    assert first is not None and again is not None
    assert first.command_id == again.command_id
    assert first.command_id == deterministic_id("payment-command", str(DEATH.change_id), "suspend")

    suspended, _ = decide(DEATH, NEW, now=NOW)
    lift = change(2, Status.ELIGIBLE, "R-6.2", hold=False, as_of=date(2026, 2, 1))
    _, restore = decide(lift, suspended, now=NOW)
    assert restore is not None
    assert restore.command_id == deterministic_id("payment-command", str(lift.change_id), "restore")
    assert restore.command_id != first.command_id


def test_full_cycle_suspend_hold_restore() -> None:
    """R-7.9 then R-7.11: one SUSPEND, nothing while held, one RESTORE."""
    changes = [
        change(1, Status.ELIGIBLE, "R-6.2", hold=False, as_of=date(2025, 6, 1)),
        change(2, Status.PENDING, "R-6.4", hold=False, as_of=date(2026, 3, 15)),
        change(3, Status.SUSPENDED, "R-7.9", hold=True, as_of=date(2026, 6, 15)),
        change(4, Status.PENDING, "R-7.5.1d", hold=True, as_of=date(2026, 6, 20), conflict="x"),
        change(5, Status.ELIGIBLE, "R-6.2", hold=False, as_of=date(2026, 7, 1)),
    ]
    state = NEW
    kinds = []
    for c in changes:
        state, command = decide(c, state, now=NOW)
        kinds.append((command.kind, command.arrears_from) if command else None)
    assert kinds == [
        None,
        None,
        (PaymentCommandKind.SUSPEND, None),
        None,
        (PaymentCommandKind.RESTORE, date(2026, 6, 15)),
    ]
    assert state == PaymentState(False, None, None, 5)


def test_prison_during_a_suspension_is_not_paid_as_arrears() -> None:
    """Policy (module docstring): benefits for the months served are not paid (R-7.11)."""
    suspended, _ = decide(EXPIRED, NEW, now=NOW)  # on 2026-01-10
    jailed = change(2, Status.LOST, "R-7.5.1b-prison", hold=True, as_of=date(2026, 2, 1))
    suspended, command = decide(jailed, suspended, now=NOW)
    # Already suspended: the suspension is restated as a prison one.
    assert command is not None and command.kind is PaymentCommandKind.SUSPEND
    assert command.reason == "lost (R-7.5.1b-prison)"
    released = change(3, Status.ELIGIBLE, "R-6.2", hold=False, as_of=date(2026, 9, 1))
    _, restore = decide(released, suspended, now=NOW)
    assert restore is not None and restore.kind is PaymentCommandKind.RESTORE
    # Arrears must not reach back over the prison term (2026-02-01 .. 2026-09-01).
    assert restore.arrears_from is None or restore.arrears_from >= date(2026, 9, 1)


def test_a_retracted_death_while_payment_stays_held_is_withdrawn_r_7_11() -> None:
    """Dead on record, then the death record is retracted (R-7.11) but the pensioner's
    certification has lapsed meanwhile, so payment stays held: the payment system is told
    the cause is no longer death (it must not reclaim from a living person's estate), and
    a real death later is told again."""
    dead, _ = decide(DEATH, NEW, now=NOW)  # 2026-01-10
    retracted = change(
        2, Status.SUSPENDED, "R-7.9", hold=True, as_of=date(2026, 3, 1), from_status=Status.LOST
    )
    held, command = decide(retracted, dead, now=NOW)
    assert command is not None and command.kind is PaymentCommandKind.SUSPEND
    assert command.reason == "suspended (R-7.9)"
    assert held == PaymentState(True, date(2026, 1, 10), "R-7.9", 2)
    died = change(3, Status.LOST, "R-7.5.1b", hold=True, as_of=date(2026, 5, 1))
    _, command = decide(died, held, now=NOW)
    assert command is not None and command.reason == "lost (R-7.5.1b)"


def test_a_conflict_while_serving_keeps_the_prison_term_out_of_the_arrears() -> None:
    """Imprisoned (payment suspended), then proof of life conflicts with the sentence
    (R-7.5.1d): the cause restated as a conflict, and the restoration after release still
    pays no arrears, since the term fell within the suspension."""
    jailed, _ = decide(PRISON, NEW, now=NOW)  # 2026-01-10
    conflict = change(
        2, Status.PENDING, "R-7.5.1d", hold=True, as_of=date(2026, 2, 1), conflict="x"
    )
    held, command = decide(conflict, jailed, now=NOW)
    assert command is not None and command.kind is PaymentCommandKind.SUSPEND
    assert held == PaymentState(True, date(2026, 1, 10), "R-7.5.1d", 2, prison_served=True)
    released = change(3, Status.ELIGIBLE, "R-6.2", hold=False, as_of=date(2026, 9, 1))
    _, restore = decide(released, held, now=NOW)
    assert restore is not None and restore.kind is PaymentCommandKind.RESTORE
    assert restore.arrears_from is None
