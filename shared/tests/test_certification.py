"""Tests for lifesign.certification: the evidence fold and the status on a date.

Clauses: R-6.1..R-6.4 (validity, warning, pending), R-7.5.1 (direct matching: a proof of
life, b loss, c no evidence, d conflicts), R-7.9 (suspension), R-7.10 (deferral), R-7.11
(retraction of a wrong record). ARCHITECTURE principle 1: the fold commutes.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from functools import reduce
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifesign.calendar import AnnualAlignment, validity_window
from lifesign.catalogue import CertificationMethod, LossKind
from lifesign.certification import (
    CertificationState,
    Evidence,
    EvidenceKind,
    LossRecord,
    ProofOfLife,
    Status,
    fold,
    status_on,
    validity_start,
    with_base,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WHO = "a" * 64


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=SHANGHAI)


def alive(
    n: int, at: datetime, method: CertificationMethod = CertificationMethod.BIG_DATA
) -> Evidence:
    return Evidence(EvidenceKind.ALIVE, _id(n), at, "app_12333", method=method)


def death(n: int, on: date, source: str = "funeral_cremation") -> Evidence:
    return Evidence(EvidenceKind.DEATH, _id(n), _noon(on), source, loss_kind=LossKind.DEATH)


def prison(n: int, start: date, released_on: date | None = None) -> Evidence:
    return Evidence(
        EvidenceKind.PRISON,
        _id(n),
        _noon(start),
        "prison_sentence",
        loss_kind=LossKind.PRISON,
        released_on=released_on,
    )


def retraction(n: int, retracts: int) -> Evidence:
    return Evidence(
        EvidenceKind.RETRACTION, _id(n), _noon(date(2026, 6, 1)), "review", retracts=_id(retracts)
    )


def state_of(
    *evidence: Evidence,
    benefit_start: date | None = None,
    certified_on: date | None = None,
) -> CertificationState:
    state = CertificationState(WHO, benefit_start=benefit_start, base_certified_on=certified_on)
    return reduce(fold, evidence, state)


# --- ARCHITECTURE principle 1: the fold is commutative and idempotent ------------------

_ZONES = st.sampled_from([UTC, SHANGHAI, timezone(timedelta(hours=-5)), timezone(timedelta(0))])
_MOMENTS = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2029, 12, 31), timezones=_ZONES
)
_DAYS = st.dates(min_value=date(2019, 6, 1), max_value=date(2030, 12, 31))
_SOURCES = st.sampled_from(["app_12333", "funeral_cremation", "household_cancellation"])


@st.composite
def _evidence_lists(draw: st.DrawFn) -> list[Evidence]:
    """Alive, death, prison and not-confirmed (R-7.5.2.3) evidence with unique ids, and
    retractions of some losses."""
    kinds = [EvidenceKind.ALIVE, EvidenceKind.DEATH, EvidenceKind.PRISON, EvidenceKind.UNCONFIRMED]
    specs = draw(st.lists(st.sampled_from(kinds)))
    result: list[Evidence] = []
    for n, kind in enumerate(specs, start=1):
        at = draw(_MOMENTS)
        source = draw(_SOURCES)
        if kind is EvidenceKind.ALIVE:
            method = draw(st.sampled_from(CertificationMethod) | st.none())
            result.append(Evidence(kind, _id(n), at, source, method=method))
        elif kind is EvidenceKind.UNCONFIRMED:
            result.append(Evidence(kind, _id(n), at, "scoring:xgb-1"))
        elif kind is EvidenceKind.DEATH:
            loss_kind = draw(st.sampled_from([LossKind.DEATH, None]))
            result.append(Evidence(kind, _id(n), at, source, loss_kind=loss_kind))
        else:
            released = draw(st.none() | st.integers(min_value=1, max_value=2000))
            released_on = None if released is None else at.date() + timedelta(days=released)
            result.append(
                Evidence(
                    kind,
                    _id(n),
                    at,
                    source,
                    loss_kind=draw(st.sampled_from([LossKind.PRISON, None])),
                    released_on=released_on,
                )
            )
    losses = [e.event_id for e in result if e.kind in (EvidenceKind.DEATH, EvidenceKind.PRISON)]
    if losses:
        retracted = draw(st.lists(st.sampled_from(losses), unique=True))
        base = len(result) + 1
        result.extend(
            Evidence(EvidenceKind.RETRACTION, _id(base + i), draw(_MOMENTS), "review", retracts=r)
            for i, r in enumerate(retracted)
        )
    return result


@settings(max_examples=200, deadline=None)
@given(
    evidence=_evidence_lists(),
    data=st.data(),
    benefit_start=st.none() | _DAYS,
    certified_on=st.none() | _DAYS,
    dates=st.lists(_DAYS, min_size=1, max_size=4),
    alignment=st.none() | st.sampled_from([AnnualAlignment(12, 31), AnnualAlignment(6, 30)]),
)
def test_fold_is_commutative_and_idempotent_principle_1(
    evidence: list[Evidence],
    data: st.DataObject,
    benefit_start: date | None,
    certified_on: date | None,
    dates: list[date],
    alignment: AnnualAlignment | None,
) -> None:
    """ARCHITECTURE principle 1, R-6.1..R-6.4: any order, any duplication, same state."""
    start = CertificationState(WHO, benefit_start=benefit_start, base_certified_on=certified_on)
    expected = reduce(fold, evidence, start)

    duplicates = data.draw(st.lists(st.sampled_from(evidence)) if evidence else st.just([]))
    shuffled = data.draw(st.permutations([*evidence, *duplicates]))
    actual = reduce(fold, shuffled, start)

    assert actual == expected
    # Folding everything again changes nothing (idempotence).
    assert reduce(fold, evidence, actual) == expected
    for as_of in dates:
        assert status_on(actual, as_of, alignment) == status_on(expected, as_of, alignment)


def test_fold_keeps_the_latest_proof_of_life_whatever_the_order() -> None:
    """R-7.10: the latest proof of life wins (a max), in Beijing dates."""
    early = alive(1, datetime(2026, 1, 5, 9, tzinfo=SHANGHAI))
    late = alive(2, datetime(2026, 3, 1, 9, tzinfo=SHANGHAI), CertificationMethod.BIOMETRIC)
    for order in ([early, late], [late, early], [late, early, late, early]):
        state = state_of(*order)
        assert state.last_alive == ProofOfLife(
            late.occurred_at, _id(2), CertificationMethod.BIOMETRIC, "app_12333"
        )


def test_a_newer_proof_of_life_keeps_every_other_part_of_the_state() -> None:
    """The fold builds the state anew for a proof of life (not dataclasses.replace): every
    field but the proof must come through, including any field added later."""
    full = CertificationState(
        WHO,
        benefit_start=date(2020, 1, 1),
        base_certified_on=date(2025, 6, 1),
        last_alive=ProofOfLife(_noon(date(2026, 1, 1)), _id(1), CertificationMethod.BIG_DATA, "x"),
        losses=frozenset({LossRecord(_id(2), LossKind.PRISON, date(2024, 1, 1), "prison")}),
        retracted=frozenset({_id(3)}),
        unconfirmed_on=date(2026, 2, 1),
    )
    assert all(getattr(full, f.name) != f.default for f in dataclasses.fields(full))
    newer = alive(4, _noon(date(2026, 3, 1)))
    assert fold(full, newer) == dataclasses.replace(
        full,
        last_alive=ProofOfLife(
            newer.occurred_at, _id(4), CertificationMethod.BIG_DATA, "app_12333"
        ),
    )


def test_alive_without_a_method_counts_as_big_data() -> None:
    evidence = Evidence(EvidenceKind.ALIVE, _id(1), _noon(date(2026, 1, 5)), "bank_card_opening")
    state = state_of(evidence)
    assert state.last_alive is not None
    assert state.last_alive.method is CertificationMethod.BIG_DATA


def test_loss_record_is_dated_by_the_beijing_calendar() -> None:
    # 2026-01-31T17:00Z is 2026-02-01 01:00 in Beijing.
    evidence = Evidence(
        EvidenceKind.DEATH, _id(1), datetime(2026, 1, 31, 17, tzinfo=UTC), "funeral_cremation"
    )
    assert state_of(evidence).losses == frozenset(
        {LossRecord(_id(1), LossKind.DEATH, date(2026, 2, 1), "funeral_cremation")}
    )


def test_retraction_without_a_target_is_rejected() -> None:
    with pytest.raises(ValueError, match="names the record"):
        fold(
            CertificationState(WHO),
            Evidence(EvidenceKind.RETRACTION, _id(9), _noon(date(2026, 1, 1)), "review"),
        )


def test_with_base_replaces_benefit_start_and_base_certification() -> None:
    """R-7.2: the latest registry import wins."""
    state = with_base(state_of(benefit_start=date(2020, 1, 1)), date(2021, 2, 1), None)
    assert (state.benefit_start, state.base_certified_on) == (date(2021, 2, 1), None)


# --- ..R-6.4: the validity calendar --------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "status", "rule", "hold"),
    [
        (date(2025, 3, 14), Status.ELIGIBLE, "R-6.1", False),  # benefits not started yet
        (date(2025, 3, 15), Status.ELIGIBLE, "R-6.2", False),
        (date(2025, 12, 14), Status.ELIGIBLE, "R-6.2", False),
        (date(2025, 12, 15), Status.WARNING, "R-6.3", False),  # end - 3 months
        (date(2026, 3, 14), Status.WARNING, "R-6.3", False),
        (date(2026, 3, 15), Status.PENDING, "R-6.4", False),  # end
        (date(2026, 6, 14), Status.PENDING, "R-6.4", False),
        (date(2026, 6, 15), Status.SUSPENDED, "R-7.9", True),  # end + 3 months
        (date(2030, 1, 1), Status.SUSPENDED, "R-7.9", True),
    ],
)
def test_status_follows_the_calendar_from_benefit_start_r_6(
    as_of: date, status: Status, rule: str, hold: bool
) -> None:
    """R-6.1 (new pensioner: benefit start), R-6.2..R-6.4, R-7.9."""
    view = status_on(state_of(benefit_start=date(2025, 3, 15)), as_of)
    assert (view.status, view.rule, view.hold_payment) == (status, rule, hold)
    assert view.window == validity_window(date(2025, 3, 15))
    assert view.window.end == date(2026, 3, 15)
    assert view.conflict is None
    assert view.evidence == ()


def test_validity_starts_at_the_latest_proof_of_life_r_6_1() -> None:
    """R-6.1 / R-7.10: the latest of benefit start, base certification and proof of life."""
    proof = alive(7, datetime(2025, 7, 31, 17, 30, tzinfo=UTC))  # 2025-08-01 01:30 Beijing
    state = state_of(proof, benefit_start=date(2020, 1, 10), certified_on=date(2025, 5, 20))
    assert validity_start(state) == date(2025, 8, 1)
    view = status_on(state, date(2026, 5, 1))
    assert view.status is Status.WARNING  # warning from 2026-05-01, end 2026-08-01
    assert view.window is not None
    assert (view.window.start, view.window.end) == (date(2025, 8, 1), date(2026, 8, 1))
    assert view.evidence == (_id(7),)


def test_validity_starts_at_the_base_certification_when_it_is_latest_r_6_1() -> None:
    proof = alive(7, _noon(date(2025, 1, 2)))
    state = state_of(proof, benefit_start=date(2020, 1, 10), certified_on=date(2025, 5, 20))
    assert validity_start(state) == date(2025, 5, 20)
    view = status_on(state, date(2026, 5, 19))
    assert (view.status, view.rule) == (Status.WARNING, "R-6.3")
    assert status_on(state, date(2026, 5, 20)).status is Status.PENDING


def test_validity_starts_at_the_benefit_start_when_it_is_latest_r_6_1() -> None:
    state = state_of(
        alive(7, _noon(date(2025, 1, 2))),
        benefit_start=date(2025, 9, 1),
        certified_on=date(2025, 5, 20),
    )
    assert validity_start(state) == date(2025, 9, 1)


def test_proof_of_life_alone_opens_a_window() -> None:
    state = state_of(alive(3, _noon(date(2026, 2, 10))))
    view = status_on(state, date(2026, 2, 11))
    assert (view.status, view.rule) == (Status.ELIGIBLE, "R-6.2")
    assert view.window is not None and view.window.end == date(2027, 2, 10)


def test_no_evidence_and_no_benefit_start_is_pending_r_7_5_1_c() -> None:
    view = status_on(CertificationState(WHO), date(2026, 1, 1))
    assert view.status is Status.PENDING
    assert view.rule == "R-7.5.1c-no-evidence"
    assert view.window is None
    assert view.conflict == "no certification known"
    assert view.hold_payment is False


def test_alignment_moves_the_validity_end_r_6_2() -> None:
    """R-6.2: ends aligned to 31 December come earlier than start + 12 months."""
    state = state_of(certified_on=date(2026, 3, 15))
    plain = status_on(state, date(2026, 10, 1))
    aligned = status_on(state, date(2026, 10, 1), AnnualAlignment(12, 31))
    assert plain.window is not None and aligned.window is not None
    assert plain.window.end == date(2027, 3, 15)
    assert aligned.window.end == date(2026, 12, 31)
    assert plain.status is Status.ELIGIBLE
    assert aligned.status is Status.WARNING  # warning from 2026-09-30
    assert status_on(state, date(2026, 12, 31), AnnualAlignment(12, 31)).status is Status.PENDING


# --- b/d: death --------------------------------------------------------------------


def test_death_means_lost_and_holds_payment_r_7_5_1_b() -> None:
    state = state_of(death(1, date(2026, 1, 10)), benefit_start=date(2025, 6, 1))
    view = status_on(state, date(2026, 2, 1))
    assert view.status is Status.LOST
    assert view.rule == "R-7.5.1b"
    assert view.hold_payment is True
    assert view.window is None
    assert view.conflict is None
    assert view.evidence == (_id(1),)


def test_alive_the_day_after_death_is_within_tolerance_r_7_5_1_b() -> None:
    state = state_of(death(1, date(2026, 1, 10)), alive(2, _noon(date(2026, 1, 11))))
    assert status_on(state, date(2026, 2, 1)).status is Status.LOST


def test_alive_two_days_after_death_is_a_conflict_r_7_5_1_d() -> None:
    """R-7.5.1 d: proof of life after a death record: pending, and no money moves."""
    state = state_of(death(1, date(2026, 1, 10)), alive(2, _noon(date(2026, 1, 12))))
    view = status_on(state, date(2026, 2, 1))
    assert view.status is Status.PENDING
    assert view.rule == "R-7.5.1d"
    assert view.hold_payment is True
    assert view.conflict == "proof of life (app_12333) on 2026-01-12 after death"
    assert view.evidence == (_id(1), _id(2))


def test_two_deaths_more_than_31_days_apart_conflict_r_7_5_1_d() -> None:
    state = state_of(
        death(1, date(2026, 1, 1)), death(2, date(2026, 2, 2), "household_cancellation")
    )
    view = status_on(state, date(2026, 3, 1))
    assert (view.status, view.rule, view.hold_payment) == (Status.PENDING, "R-7.5.1d", True)
    assert view.conflict == "death records 2026-01-01 and 2026-02-02 disagree"
    assert view.evidence == (_id(1), _id(2))


def test_two_deaths_31_days_apart_agree_r_7_5_1_b() -> None:
    state = state_of(death(1, date(2026, 1, 1)), death(2, date(2026, 2, 1)))
    view = status_on(state, date(2026, 3, 1))
    assert (view.status, view.rule) == (Status.LOST, "R-7.5.1b")
    assert view.evidence == (_id(1), _id(2))


def test_retracted_death_returns_to_the_calendar_r_7_11() -> None:
    """R-7.11: a wrong death record withdrawn by a reviewer no longer counts."""
    state = state_of(
        death(1, date(2026, 1, 10)), retraction(5, retracts=1), benefit_start=date(2025, 6, 1)
    )
    view = status_on(state, date(2026, 2, 1))
    assert (view.status, view.rule, view.hold_payment) == (Status.ELIGIBLE, "R-6.2", False)
    assert view.window is not None and view.window.end == date(2026, 6, 1)


def test_retraction_before_the_record_still_withdraws_it_r_7_11() -> None:
    state = state_of(retraction(5, retracts=1), death(1, date(2026, 1, 10)))
    assert status_on(state, date(2026, 2, 1)).rule == "R-7.5.1c-no-evidence"


def test_retracting_one_of_two_disagreeing_deaths_resolves_the_conflict() -> None:
    state = state_of(death(1, date(2026, 1, 1)), death(2, date(2026, 3, 1)), retraction(5, 2))
    view = status_on(state, date(2026, 4, 1))
    assert (view.status, view.evidence) == (Status.LOST, (_id(1),))


def test_death_wins_over_prison() -> None:
    state = state_of(prison(1, date(2025, 1, 1)), death(2, date(2026, 1, 10)))
    assert status_on(state, date(2026, 2, 1)).rule == "R-7.5.1b"


# --- b/d: prison -------------------------------------------------------------------


def test_prison_without_release_is_lost_r_7_5_1_b() -> None:
    state = state_of(prison(1, date(2026, 2, 1)), certified_on=date(2026, 1, 5))
    view = status_on(state, date(2026, 5, 1))
    assert view.status is Status.LOST
    assert view.rule == "R-7.5.1b-prison"
    assert view.hold_payment is True
    assert view.window is None
    assert view.evidence == (_id(1),)


def test_prison_before_the_sentence_starts_is_the_calendar() -> None:
    state = state_of(prison(1, date(2026, 2, 1)), certified_on=date(2026, 1, 5))
    view = status_on(state, date(2026, 1, 31))
    assert (view.status, view.rule) == (Status.ELIGIBLE, "R-6.2")


def test_prison_after_release_is_the_calendar_r_7_11() -> None:
    state = state_of(prison(1, date(2026, 2, 1), date(2026, 8, 1)), certified_on=date(2026, 1, 5))
    assert status_on(state, date(2026, 7, 31)).rule == "R-7.5.1b-prison"
    view = status_on(state, date(2026, 8, 1))
    assert (view.status, view.rule, view.hold_payment) == (Status.ELIGIBLE, "R-6.2", False)
    assert view.window is not None and view.window.end == date(2027, 1, 5)


def test_biometric_proof_during_prison_is_a_conflict_r_7_5_1_d() -> None:
    state = state_of(
        prison(1, date(2026, 2, 1)),
        alive(2, _noon(date(2026, 3, 1)), CertificationMethod.BIOMETRIC),
    )
    view = status_on(state, date(2026, 5, 1))
    assert view.status is Status.PENDING
    assert view.rule == "R-7.5.1d"
    assert view.hold_payment is True
    assert view.conflict == "biometric certification on 2026-03-01 during prison term"
    assert view.evidence == (_id(1),)


@pytest.mark.parametrize("method", [CertificationMethod.MANUAL, CertificationMethod.HOME_VISIT])
def test_in_person_proof_during_prison_is_a_conflict_r_7_5_1_d(
    method: CertificationMethod,
) -> None:
    state = state_of(prison(1, date(2026, 2, 1)), alive(2, _noon(date(2026, 3, 1)), method))
    assert status_on(state, date(2026, 5, 1)).rule == "R-7.5.1d"


def test_big_data_proof_during_prison_stays_lost_r_7_5_1_b() -> None:
    state = state_of(
        prison(1, date(2026, 2, 1)),
        alive(2, _noon(date(2026, 3, 1)), CertificationMethod.BIG_DATA),
    )
    view = status_on(state, date(2026, 5, 1))
    assert (view.status, view.rule, view.conflict) == (Status.LOST, "R-7.5.1b-prison", None)


def test_biometric_proof_before_the_sentence_is_no_conflict() -> None:
    state = state_of(
        prison(1, date(2026, 2, 1)),
        alive(2, _noon(date(2026, 1, 20)), CertificationMethod.BIOMETRIC),
    )
    assert status_on(state, date(2026, 5, 1)).rule == "R-7.5.1b-prison"


def test_retracted_prison_record_returns_to_the_calendar_r_7_11() -> None:
    state = state_of(prison(1, date(2026, 2, 1)), retraction(3, 1), certified_on=date(2026, 1, 5))
    assert status_on(state, date(2026, 5, 1)).rule == "R-6.2"


def test_release_record_after_the_sentence_record_ends_the_prison_term() -> None:
    sentence = prison(1, date(2026, 2, 1))
    release = prison(2, date(2026, 2, 1), released_on=date(2026, 8, 1))
    state = state_of(sentence, release, certified_on=date(2026, 1, 5))
    view = status_on(state, date(2026, 9, 1))
    assert (view.status, view.rule) == (Status.ELIGIBLE, "R-6.2")


@pytest.mark.parametrize(
    ("decided_on", "expected"),
    [
        (date(2026, 10, 9), Status.WARNING),  # before the warning period: not this period's
        (date(2026, 10, 10), Status.PENDING),  # first day of the warning period
        (date(2027, 1, 9), Status.PENDING),  # its last day
    ],
)
def test_not_confirmed_by_scoring_counts_only_within_the_warning_period(
    decided_on: date, expected: Status
) -> None:
    """R-7.5.2.3: validity 2026-01-10 .. 2027-01-10, warning from 2026-10-10."""
    state = fold(
        state_of(benefit_start=date(2001, 4, 1), certified_on=date(2026, 1, 10)),
        Evidence(EvidenceKind.UNCONFIRMED, _id(9), _noon(decided_on), "scoring:xgb-1"),
    )
    view = status_on(state, date(2027, 1, 9))
    assert view.status is expected
    assert view.hold_payment is False
    # A later proof of life starts a new window: the old decision no longer counts.
    renewed = fold(state, alive(1, datetime(2027, 1, 9, 9, tzinfo=UTC)))
    assert status_on(renewed, date(2027, 1, 9)).status is Status.ELIGIBLE
