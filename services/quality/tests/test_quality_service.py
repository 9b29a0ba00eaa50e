"""Tests for lifesign_quality.service: the table-1 quality rules (R-7.3.2).

Each rule fires on the defect it names and stays silent on a clean event. Severity: a
``quarantine`` finding holds the event back, a ``warning`` (timeliness) lets it through.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lifesign.catalogue import get_source
from lifesign.events import Channel, LifeEvent, PersonRef, Provenance, event_id_for
from lifesign_quality.service import (
    RULES,
    Context,
    Dimension,
    Finding,
    Severity,
    assess,
    backlogs,
    clustered_arrival,
    days_without,
    empty_days,
    held_back_arrival,
    is_quarantined,
    observed_timeliness_limit,
    poisson_at_least,
    sex_of_id,
    share_at_least,
    volume_findings,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 10, 9, 0, tzinfo=SHANGHAI)
CTX = Context(now=NOW)
PERSON = PersonRef(
    pseudonym="a" * 64, name_digest="b" * 64, id_masked="110105********002X", name_masked="张*"
)

#: A clean record of each source used below: every required field, in domain, in order.
CLEAN: dict[str, dict[str, Any]] = {
    "funeral_cremation": {"death_date": "2026-01-06", "cremation_date": "2026-01-08"},
    "inpatient_record": {
        "hospital_code": "H001",
        "admission_date": "2026-01-02",
        "discharge_date": "2026-01-08",
        "total_cost": "1234.50",
    },
    "household_cancellation": {
        "cancellation_reason": "death",
        "cancellation_date": "2026-01-08",
        "death_date": "2026-01-05",
    },
    "transit_topup": {"card_no_masked": "****1234", "amount": "50.00", "city_code": "110000"},
    "voice_consultation": {"call_id": "C1", "duration_seconds": 120},
    "medical_benefit_application": {
        "application_type": "chronic_disease",
        "application_date": "2026-01-08",
        "applied_in_person": True,
    },
    "prison_sentence": {
        "prison_code": "P1",
        "sentence_start": "2025-06-01",
        "released_on": "2026-01-08",
    },
}


def event(
    source: str,
    attributes: dict[str, Any] | None = None,
    *,
    occurred_at: datetime = datetime(2026, 1, 8, 10, 0, tzinfo=SHANGHAI),
    received_at: datetime = NOW,
    **changes: Any,
) -> LifeEvent:
    attrs = dict(CLEAN[source] if attributes is None else attributes)
    attrs.update(changes)
    attrs = {k: v for k, v in attrs.items() if v is not None}
    return LifeEvent(
        event_id=event_id_for(source, "r1"),
        source=source,
        person=PERSON,
        occurred_at=occurred_at,
        received_at=received_at,
        region="110105",
        attributes=attrs,
        provenance=Provenance(channel=Channel.KAFKA, source_record_id="r1"),
    )


def findings(e: LifeEvent, ctx: Context = CTX) -> list[Finding]:
    return assess(e, get_source(e.source), ctx)


def rule_ids(e: LifeEvent, ctx: Context = CTX) -> list[str]:
    return [f.rule.id for f in findings(e, ctx)]


def only(e: LifeEvent, rule_id: str) -> Finding:
    found = findings(e)
    assert [f.rule.id for f in found] == [rule_id]
    return found[0]


def test_rules_and_severities_r_7_3_2() -> None:
    assert [(r.id, r.dimension, r.severity) for r in RULES] == [
        ("Q-COL-01", Dimension.COLUMN_COMPLETENESS, Severity.QUARANTINE),
        ("Q-DOM-01", Dimension.VALUE_DOMAIN, Severity.QUARANTINE),
        ("Q-DOM-02", Dimension.VALUE_DOMAIN, Severity.QUARANTINE),
        ("Q-LOG-01", Dimension.LOGICAL_CONSISTENCY, Severity.QUARANTINE),
        ("Q-TIM-01", Dimension.UPDATE_TIMELINESS, Severity.WARNING),
        ("Q-DOM-03", Dimension.VALUE_DOMAIN, Severity.QUARANTINE),
        ("Q-ENT-01", Dimension.ENTITY_INTEGRITY, Severity.QUARANTINE),
        ("Q-ENT-02", Dimension.ENTITY_INTEGRITY, Severity.DROP),
        ("Q-ENT-03", Dimension.ENTITY_INTEGRITY, Severity.DROP),
        ("Q-REF-01", Dimension.REFERENTIAL_INTEGRITY, Severity.WARNING),
        ("Q-VAL-01", Dimension.VALUE_CONSISTENCY, Severity.WARNING),
        ("Q-VAL-02", Dimension.VALUE_CONSISTENCY, Severity.WARNING),
        ("Q-LOG-02", Dimension.LOGICAL_CONSISTENCY, Severity.QUARANTINE),
        ("Q-REA-01", Dimension.REASONABLENESS, Severity.WARNING),
        ("Q-OVC-01", Dimension.OVERALL_COMPLETENESS, Severity.WARNING),
        ("Q-OVC-02", Dimension.OVERALL_COMPLETENESS, Severity.WARNING),
        ("Q-OVC-03", Dimension.OVERALL_COMPLETENESS, Severity.WARNING),
        ("Q-TIM-02", Dimension.UPDATE_TIMELINESS, Severity.WARNING),
        ("Q-TIM-03", Dimension.UPDATE_TIMELINESS, Severity.WARNING),
    ]
    # Every dimension of table 1 has at least one rule.
    assert {r.dimension for r in RULES} == set(Dimension)


@pytest.mark.parametrize("source", sorted(CLEAN))
def test_clean_events_have_no_findings(source: str) -> None:
    assert findings(event(source)) == []
    assert is_quarantined([]) is False


# --- Q-COL-01 column completeness ----------------------------------------------------------


def test_q_col_01_missing_required_attribute_r_7_3_2() -> None:
    finding = only(event("funeral_cremation", cremation_date=None), "Q-COL-01")
    assert finding.message == "missing required fields: cremation_date"
    assert finding.rule.severity is Severity.QUARANTINE


def test_q_col_01_empty_attribute_counts_as_missing_and_lists_all() -> None:
    finding = only(event("transit_topup", {"amount": "", "city_code": "110000"}), "Q-COL-01")
    assert finding.message == "missing required fields: card_no_masked, amount"


def test_q_col_01_optional_attribute_may_be_missing() -> None:
    assert findings(event("inpatient_record", discharge_date=None, total_cost=None)) == []


# --- Q-DOM-01 value domain -----------------------------------------------------------------


def test_q_dom_01_enum_out_of_domain() -> None:
    finding = only(event("household_cancellation", cancellation_reason="emigrated"), "Q-DOM-01")
    assert finding.message == (
        "cancellation_reason: 'emigrated' not in "
        "['death', 'declared_dead', 'settled_abroad', 'military_service', 'other']"
    )


@pytest.mark.parametrize("bad", ["2026-02-30", "08/01/2026", "yesterday"])
def test_q_dom_01_bad_date(bad: str) -> None:
    finding = only(event("funeral_cremation", death_date=bad), "Q-DOM-01")
    assert finding.message == f"death_date: {bad!r} is not a valid date"


@pytest.mark.parametrize("bad", ["12,50", "abc", "5元"])
def test_q_dom_01_bad_decimal(bad: str) -> None:
    finding = only(event("transit_topup", amount=bad), "Q-DOM-01")
    assert finding.message == f"amount: {bad!r} is not a valid decimal"


def test_q_dom_01_bad_integer_and_boolean() -> None:
    assert only(event("voice_consultation", duration_seconds="2.5"), "Q-DOM-01").message == (
        "duration_seconds: '2.5' is not a valid integer"
    )
    assert only(
        event("medical_benefit_application", applied_in_person="yes"), "Q-DOM-01"
    ).message == ("applied_in_person: 'yes' is not true/false")


def test_q_dom_01_reports_every_bad_field() -> None:
    e = event("inpatient_record", admission_date="2026-13-01", total_cost="lots")
    assert only(e, "Q-DOM-01").message == (
        "admission_date: '2026-13-01' is not a valid date; "
        "total_cost: 'lots' is not a valid decimal"
    )


# --- Q-DOM-02 plausible event time ------------------------------------------------------------


def test_q_dom_02_future_event_beyond_tolerance() -> None:
    e = event("funeral_cremation", occurred_at=NOW + timedelta(hours=25))
    assert only(e, "Q-DOM-02").message.endswith("is in the future")


def test_q_dom_02_clock_skew_within_a_day_is_tolerated() -> None:
    assert findings(event("funeral_cremation", occurred_at=NOW + timedelta(hours=23))) == []


def test_q_dom_02_event_before_1900() -> None:
    e = event("funeral_cremation", occurred_at=datetime(1899, 12, 31, tzinfo=UTC))
    found = {f.rule.id: f.message for f in findings(e)}
    assert found["Q-DOM-02"] == "occurred_at 1899-12-31T00:00:00+00:00 is before 1900"
    assert is_quarantined(findings(e)) is True


def test_q_dom_02_old_but_plausible_event_is_not_flagged() -> None:
    e = event("funeral_cremation", occurred_at=datetime(1950, 1, 1, tzinfo=SHANGHAI))
    assert "Q-DOM-02" not in rule_ids(e)


# --- Q-LOG-01 logical consistency -----------------------------------------------------------


def test_q_log_01_discharge_before_admission() -> None:
    e = event("inpatient_record", admission_date="2026-01-10", discharge_date="2026-01-05")
    finding = only(e, "Q-LOG-01")
    assert finding.message == "discharge_date 2026-01-05 is before admission_date 2026-01-10"


def test_q_log_01_cremation_before_death() -> None:
    e = event("funeral_cremation", death_date="2026-01-06", cremation_date="2026-01-04")
    assert (
        only(e, "Q-LOG-01").message == "cremation_date 2026-01-04 is before death_date 2026-01-06"
    )


def test_q_log_01_release_before_sentence_start() -> None:
    e = event("prison_sentence", sentence_start="2026-01-06", released_on="2025-12-01")
    assert (
        only(e, "Q-LOG-01").message == "released_on 2025-12-01 is before sentence_start 2026-01-06"
    )


def test_q_log_01_same_day_is_in_order() -> None:
    e = event("funeral_cremation", death_date="2026-01-06", cremation_date="2026-01-06")
    assert findings(e) == []


def test_q_log_01_leaves_malformed_dates_to_the_domain_rule() -> None:
    e = event("funeral_cremation", death_date="2026-01-06", cremation_date="06/01/2026")
    assert rule_ids(e) == ["Q-DOM-01"]


def test_q_log_01_applies_only_to_its_source() -> None:
    # household_cancellation has death_date but no ordered pair in ORDERED_DATES.
    e = event("household_cancellation", death_date="2026-01-09", cancellation_date="2026-01-01")
    assert findings(e) == []


# --- Q-TIM-01 update timeliness -------------------------------------------------------------


def test_q_tim_01_stale_arrival_is_a_warning_not_quarantine() -> None:
    # funeral_cremation: usual delay 3 days -> stale beyond max(6 * 3, 28) = 28 days.
    occurred = NOW - timedelta(days=29)
    found = findings(event("funeral_cremation", occurred_at=occurred))
    assert [f.rule.id for f in found] == ["Q-TIM-01"]
    assert found[0].rule.severity is Severity.WARNING
    assert found[0].message == "arrived 29 days after it occurred (usual delay 3)"
    assert is_quarantined(found) is False


def test_q_tim_01_within_the_limit_is_silent() -> None:
    occurred = NOW - timedelta(days=28)
    assert findings(event("funeral_cremation", occurred_at=occurred)) == []


def test_q_tim_01_limit_depends_on_the_source_delay() -> None:
    # household_cancellation: usual delay 90 days -> 540 days is fine, 541 is stale.
    assert findings(event("household_cancellation", occurred_at=NOW - timedelta(days=540))) == []
    late = event("household_cancellation", occurred_at=NOW - timedelta(days=541))
    assert rule_ids(late) == ["Q-TIM-01"]


def test_q_tim_01_against_the_delay_a_source_shows_where_shorter() -> None:
    # Household cancellations arrive the day they are made: 28 days (the floor), not 540.
    source = get_source("household_cancellation")
    assert observed_timeliness_limit(source, 0.1) == timedelta(days=28)
    assert observed_timeliness_limit(source, 20.0) == timedelta(days=120)
    assert observed_timeliness_limit(source, 90.0) is None  # the catalogue's, no tighter
    assert observed_timeliness_limit(get_source("app_12333"), 0.0) is None  # floor already


# --- is_quarantined -------------------------------------------------------------------------


def test_is_quarantined_when_any_finding_quarantines() -> None:
    stale = findings(event("funeral_cremation", occurred_at=NOW - timedelta(days=60)))
    incomplete = findings(
        event("funeral_cremation", occurred_at=NOW - timedelta(days=60), cremation_date=None)
    )
    assert [f.rule.id for f in incomplete] == ["Q-COL-01", "Q-TIM-01"]
    assert is_quarantined(stale) is False
    assert is_quarantined(incomplete) is True


# --- Overall completeness: volume_findings, silent runs and backlogs ---------------------------


def _daily(counts: dict[int, int], days: int = 40) -> dict[str, dict[date, int]]:
    start = date(2026, 1, 1)
    return {
        "pharmacy_purchase": {
            start + timedelta(days=d): counts.get(d, 10) for d in range(days) if counts.get(d, 10)
        }
    }


def test_a_silent_week_then_a_flood_is_a_backlog() -> None:
    daily = _daily({20: 0, 21: 0, 22: 0, 23: 80})
    found = volume_findings(daily, date(2026, 1, 1), date(2026, 2, 9))
    assert [(f.day.day, f.kind) for f in found] == [
        (21, "silent"),
        (22, "silent"),
        (23, "silent"),
        (24, "flood"),
    ]
    assert found[0].rule_id == "Q-OVC-01" and found[-1].rule_id == "Q-OVC-02"
    assert backlogs(found, timedelta(days=3)) == [
        ("pharmacy_purchase", date(2026, 1, 21), date(2026, 1, 23), date(2026, 1, 24))
    ]


def test_a_silent_day_without_a_flood_is_no_backlog_and_quiet_sources_are_not_judged() -> None:
    found = volume_findings(_daily({20: 0}), date(2026, 1, 1), date(2026, 2, 9))
    assert [(f.day.day, f.kind) for f in found] == [(21, "silent")]
    assert backlogs(found, timedelta(days=3)) == []
    # A source that usually sends 3 a day may well send none: no finding.
    quiet = {"x": {date(2026, 1, 1) + timedelta(days=d): 3 for d in range(40) if d != 20}}
    assert volume_findings(quiet, date(2026, 1, 1), date(2026, 2, 9)) == []


def test_sex_of_a_masked_id() -> None:
    assert sex_of_id("110105********0011") == "M"
    assert sex_of_id("110105********002X") == "F"
    assert sex_of_id("x") is None


def test_a_held_back_batch_is_the_excess_of_old_records_after_an_empty_day() -> None:
    empty = date(2026, 1, 21)
    share = share_at_least({0: 900, 1: 90, 40: 10})  # ages on arrival, in days
    old = {empty + timedelta(days=k): 0 for k in range(28, 63)}
    assert held_back_arrival(empty, 10.0, old, share) is None
    old[empty + timedelta(days=40)] = 10
    assert held_back_arrival(empty, 10.0, old, share) == empty + timedelta(days=40)
    # One old record is what the usual delays explain: no batch.
    old[empty + timedelta(days=40)] = 1
    assert held_back_arrival(empty, 10.0, old, share) is None
    daily = {"x": {date(2026, 1, 1) + timedelta(days=d): 10 for d in range(40) if d != 20}}
    assert empty_days(daily, date(2026, 1, 1), date(2026, 2, 9)) == [("x", empty, 10.0)]


def test_a_sparse_sources_held_back_batch_is_a_cluster_of_old_records() -> None:
    """Q-TIM-03 for a source that sends little: one record a day, 30 days old on arrival;
    the batch of the empty day 2026-01-21 comes 40 days later."""
    empty = date(2026, 1, 21)
    last = empty + timedelta(days=80)
    days = [empty + timedelta(days=k) for k in range(-30, 81)]
    arrivals = {d: [d - timedelta(days=30)] for d in days}
    assert clustered_arrival(empty, arrivals, last) is None
    arrived = empty + timedelta(days=40)
    arrivals[arrived] = sorted([*arrivals[arrived], *[empty - timedelta(days=3)] * 3])
    assert clustered_arrival(empty, arrivals, last) == arrived
    assert clustered_arrival(empty, arrivals, arrived - timedelta(days=1)) is None  # not yet
    # Two old records are not improbable enough: chance brings them now and then.
    arrivals[arrived] = arrivals[arrived][1:]
    assert clustered_arrival(empty, arrivals, last) is None
    # Where every day brings old records (a long tail of delays), three more are no batch.
    tail = {d: sorted([d - timedelta(days=30), d - timedelta(days=45)]) for d in days}
    tail[arrived] = sorted([*tail[arrived], *[empty - timedelta(days=3)] * 3])
    assert clustered_arrival(empty, tail, last) is None
    assert poisson_at_least(0, 1.0) == 1.0
    assert poisson_at_least(3, 0.05) == pytest.approx(2.0e-5, rel=0.05)
    daily = {"x": {date(2026, 1, 2): 1, date(2026, 1, 4): 2}, "y": {}}
    assert days_without(daily, date(2026, 1, 1), date(2026, 1, 5)) == [
        ("x", date(2026, 1, 3)),
        ("x", date(2026, 1, 5)),
    ]
