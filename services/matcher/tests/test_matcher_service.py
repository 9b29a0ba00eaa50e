"""Tests for lifesign_matcher.service: R-7.4 labels, R-7.5.1 matching, state changes.

Clauses: R-7.4 (evidence labels), R-7.5.1 a/b/c (direct matching), R-7.3.3.2 (loss data
whose id matches but name does not go to manual review), R-7.10 (deferral moves validity),
ARCHITECTURE principle 2 (deterministic ids).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import reduce
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lifesign.catalogue import CertificationMethod, LossKind
from lifesign.certification import (
    CertificationState,
    EvidenceKind,
    Status,
    fold,
)
from lifesign.events import (
    Channel,
    LifeEvent,
    PersonRef,
    Provenance,
    deterministic_id,
    event_id_for,
)
from lifesign_matcher.service import (
    Outcome,
    Published,
    RegistryEntry,
    classify,
    evidence_of,
    next_change,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
WHO = "a" * 64
NAME = "b" * 64
OTHER_NAME = "c" * 64
ENTRY = RegistryEntry(WHO, NAME)
OCCURRED = datetime(2026, 1, 8, 10, 0, tzinfo=SHANGHAI)
NOW = datetime(2026, 1, 10, 9, 0, tzinfo=SHANGHAI)

ATTRIBUTES: dict[str, dict[str, Any]] = {
    "transit_topup": {"card_no_masked": "****1234", "amount": "50", "city_code": "110000"},
    "app_12333": {"action": "certification", "face_match_score": "98.5"},
    "medical_insurance_contribution": {
        "insurance_type": "employee",
        "contribution_period": "202601",
        "amount": "300",
    },
    "funeral_cremation": {"death_date": "2026-01-06", "cremation_date": "2026-01-08"},
    "medical_death_certificate": {"certificate_no": "D1", "death_date": "2026-01-05"},
    "prison_sentence": {"prison_code": "P1", "sentence_start": "2025-11-03"},
    "household_cancellation": {"cancellation_reason": "death", "cancellation_date": "2026-01-08"},
}


def event(
    source: str, *, name_digest: str = NAME, occurred_at: datetime = OCCURRED, **attrs: Any
) -> LifeEvent:
    attributes = {**ATTRIBUTES[source], **attrs}
    return LifeEvent(
        event_id=event_id_for(source, "r1"),
        source=source,
        person=PersonRef(
            pseudonym=WHO,
            name_digest=name_digest,
            id_masked="110105********002X",
            name_masked="张*",
        ),
        occurred_at=occurred_at,
        received_at=NOW,
        attributes={k: v for k, v in attributes.items() if v is not None},
        provenance=Provenance(channel=Channel.KAFKA, source_record_id="r1"),
    )


# --- classify: labels and branches ------------------------------------------


@pytest.mark.parametrize("entry", [None, ENTRY, RegistryEntry(WHO, OTHER_NAME)])
def test_auxiliary_sources_go_to_scoring_r_7_4_3(entry: RegistryEntry | None) -> None:
    assert classify(event("transit_topup"), entry) is Outcome.AUXILIARY


@pytest.mark.parametrize("source", ["app_12333", "funeral_cremation", "prison_sentence"])
def test_not_in_registry_is_unmatched_r_7_5_1_c(source: str) -> None:
    assert classify(event(source), None) is Outcome.UNMATCHED


@pytest.mark.parametrize("source", ["funeral_cremation", "medical_death_certificate"])
def test_death_record_with_another_name_goes_to_review_r_7_3_3_2(source: str) -> None:
    assert classify(event(source, name_digest=OTHER_NAME), ENTRY) is Outcome.NAME_REVIEW


def test_prison_record_with_another_name_goes_to_review_r_7_3_3_2() -> None:
    assert classify(event("prison_sentence", name_digest=OTHER_NAME), ENTRY) is Outcome.NAME_REVIEW


@pytest.mark.parametrize("source", ["app_12333", "medical_insurance_contribution"])
def test_alive_evidence_with_another_name_is_unmatched_r_7_5_1_c(source: str) -> None:
    assert classify(event(source, name_digest=OTHER_NAME), ENTRY) is Outcome.UNMATCHED


@pytest.mark.parametrize("source", ["app_12333", "medical_insurance_contribution"])
def test_matched_alive_evidence_is_proof_of_life_r_7_5_1_a(source: str) -> None:
    assert classify(event(source), ENTRY) is Outcome.PROOF_OF_LIFE


@pytest.mark.parametrize("source", ["funeral_cremation", "prison_sentence"])
def test_matched_loss_evidence_is_loss_r_7_5_1_b(source: str) -> None:
    assert classify(event(source), ENTRY) is Outcome.LOSS


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        ("death", Outcome.LOSS),
        ("declared_dead", Outcome.LOSS),
        ("settled_abroad", Outcome.NOT_LOSS),
        ("military_service", Outcome.NOT_LOSS),
        ("other", Outcome.NOT_LOSS),
    ],
)
def test_household_cancellation_is_a_loss_only_for_death_r_7_5_1_b(
    reason: str, outcome: Outcome
) -> None:
    e = event("household_cancellation", cancellation_reason=reason)
    assert classify(e, ENTRY) is outcome


# --- evidence_of ------------------------------------------------------------------------


def test_evidence_of_alive_event_keeps_time_and_method_r_7_5_1_a() -> None:
    evidence = evidence_of(event("app_12333"))
    assert evidence.kind is EvidenceKind.ALIVE
    assert evidence.event_id == event_id_for("app_12333", "r1")
    assert evidence.occurred_at == OCCURRED
    assert evidence.source == "app_12333"
    assert evidence.method is CertificationMethod.BIOMETRIC
    assert evidence.loss_kind is None


def test_evidence_of_big_data_alive_event() -> None:
    evidence = evidence_of(event("medical_insurance_contribution"))
    assert evidence.method is CertificationMethod.BIG_DATA


def test_evidence_of_death_is_dated_by_death_date_r_7_5_1_b() -> None:
    """A cremation on the 8th dates the death on the 6th (its death_date)."""
    evidence = evidence_of(event("funeral_cremation"))
    assert evidence.kind is EvidenceKind.DEATH
    assert evidence.loss_kind is LossKind.DEATH
    assert evidence.occurred_at == datetime(2026, 1, 6, 12, 0, tzinfo=SHANGHAI)
    assert evidence.released_on is None
    assert evidence.method is None


def test_evidence_of_death_without_death_date_uses_the_event_time() -> None:
    e = event("household_cancellation", occurred_at=datetime(2026, 1, 7, 8, tzinfo=SHANGHAI))
    evidence = evidence_of(e)
    assert evidence.kind is EvidenceKind.DEATH
    assert evidence.occurred_at == datetime(2026, 1, 7, 8, tzinfo=SHANGHAI)


def test_evidence_of_malformed_death_date_falls_back_to_the_event_time() -> None:
    evidence = evidence_of(event("funeral_cremation", death_date="06/01/2026"))
    assert evidence.occurred_at == OCCURRED


def test_evidence_of_prison_uses_sentence_start_and_release() -> None:
    evidence = evidence_of(event("prison_sentence", released_on="2026-06-30"))
    assert evidence.kind is EvidenceKind.PRISON
    assert evidence.loss_kind is LossKind.PRISON
    assert evidence.occurred_at == datetime(2025, 11, 3, 12, 0, tzinfo=SHANGHAI)
    assert evidence.released_on == date(2026, 6, 30)


def test_evidence_of_prison_without_release() -> None:
    assert evidence_of(event("prison_sentence")).released_on is None


# --- next_change: and deterministic ids ----------------------------------------

AS_OF = date(2025, 6, 1)
STATE = CertificationState(WHO, benefit_start=date(2025, 3, 15))
PUBLISHED_ELIGIBLE = Published(
    status="eligible",
    rule="R-6.2",
    conflict=None,
    hold_payment=False,
    validity_start=date(2025, 3, 15),
    validity_end=date(2026, 3, 15),
    version=3,
    benefit_region="110105",
    residence_region="110108",
)
NEVER_PUBLISHED = Published(None, None, None, False, None, None, 0, "110105", None)


def test_no_change_when_nothing_moved() -> None:
    assert next_change(STATE, PUBLISHED_ELIGIBLE, as_of=AS_OF, now=NOW) is None


def test_first_publication_is_version_1() -> None:
    change = next_change(STATE, NEVER_PUBLISHED, as_of=AS_OF, now=NOW)
    assert change is not None
    assert change.version == 1
    assert change.change_id == deterministic_id("state-change", WHO, "1")
    assert change.pseudonym == WHO
    assert change.from_status is None
    assert change.to_status is Status.ELIGIBLE
    assert change.rule == "R-6.2"
    assert change.hold_payment is False
    assert (change.validity_start, change.validity_end) == (date(2025, 3, 15), date(2026, 3, 15))
    assert change.last_proof_of_life_at is None
    assert change.last_proof_method is None
    assert change.evidence == []
    assert (change.as_of, change.changed_at) == (AS_OF, NOW)
    assert (change.benefit_region, change.residence_region) == ("110105", None)


def test_change_into_warning_r_6_3() -> None:
    change = next_change(STATE, PUBLISHED_ELIGIBLE, as_of=date(2025, 12, 15), now=NOW)
    assert change is not None
    assert change.version == 4
    assert (change.from_status, change.to_status, change.rule) == (
        Status.ELIGIBLE,
        Status.WARNING,
        "R-6.3",
    )
    assert change.change_id == deterministic_id("state-change", WHO, "4")
    assert (change.benefit_region, change.residence_region) == ("110105", "110108")


def test_change_id_is_deterministic() -> None:
    """ARCHITECTURE principle 2: the same inputs give the same change and id."""
    first = next_change(STATE, PUBLISHED_ELIGIBLE, as_of=date(2026, 3, 15), now=NOW)
    again = next_change(STATE, PUBLISHED_ELIGIBLE, as_of=date(2026, 3, 15), now=NOW)
    assert first is not None and again is not None
    assert first == again
    assert first.change_id == again.change_id
    assert first.to_status is Status.PENDING
    other_person = next_change(
        CertificationState("d" * 64, benefit_start=date(2025, 3, 15)),
        PUBLISHED_ELIGIBLE,
        as_of=date(2026, 3, 15),
        now=NOW,
    )
    assert other_person is not None and other_person.change_id != first.change_id


def test_new_proof_of_life_moves_validity_while_eligible_r_7_10() -> None:
    """R-7.10: deferral is a change even though the status stays eligible."""
    proof = evidence_of(event("app_12333", occurred_at=datetime(2025, 5, 20, 9, tzinfo=SHANGHAI)))
    state = fold(STATE, proof)
    change = next_change(state, PUBLISHED_ELIGIBLE, as_of=AS_OF, now=NOW)
    assert change is not None
    assert (change.from_status, change.to_status) == (Status.ELIGIBLE, Status.ELIGIBLE)
    assert (change.validity_start, change.validity_end) == (date(2025, 5, 20), date(2026, 5, 20))
    assert change.last_proof_of_life_at == datetime(2025, 5, 20, 9, tzinfo=SHANGHAI)
    assert change.last_proof_method is CertificationMethod.BIOMETRIC
    assert change.evidence == [event_id_for("app_12333", "r1")]
    assert change.version == 4


def test_death_publishes_lost_with_a_payment_hold_r_7_5_1_b() -> None:
    state = reduce(fold, [evidence_of(event("funeral_cremation"))], STATE)
    change = next_change(state, PUBLISHED_ELIGIBLE, as_of=date(2026, 1, 10), now=NOW)
    assert change is not None
    assert (change.to_status, change.rule, change.hold_payment) == (Status.LOST, "R-7.5.1b", True)
    assert (change.validity_start, change.validity_end) == (None, None)
    assert change.evidence == [event_id_for("funeral_cremation", "r1")]


def test_conflict_or_hold_alone_is_a_change() -> None:
    state = CertificationState(WHO)  # no evidence: pending with a conflict text
    published = Published("pending", "R-7.5.1c-no-evidence", None, False, None, None, 1, None, None)
    change = next_change(state, published, as_of=AS_OF, now=NOW)
    assert change is not None
    assert change.conflict == "no certification known"
    assert (change.from_status, change.to_status) == (Status.PENDING, Status.PENDING)
    settled = Published(
        "pending",
        "R-7.5.1c-no-evidence",
        "no certification known",
        False,
        None,
        None,
        2,
        None,
        None,
    )
    assert next_change(state, settled, as_of=AS_OF, now=NOW) is None
