"""Tests for lifesign_scoring.service: daily behaviour counts (R-7.5.2 features).

Days are Beijing calendar days (validity and behaviour are counted in Beijing dates).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from lifesign.events import Channel, LifeEvent, PersonRef, Provenance, event_id_for
from lifesign_scoring.service import daily_counts

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALICE = "a" * 64
BOB = "d" * 64
ATTRS = {
    "transit_topup": {"card_no_masked": "****1234", "amount": "50", "city_code": "110000"},
    "pharmacy_purchase": {"pharmacy_code": "PH1", "amount": "12.5"},
}


def event(record: str, who: str, source: str, at: datetime) -> LifeEvent:
    return LifeEvent(
        event_id=event_id_for(source, record),
        source=source,
        person=PersonRef(pseudonym=who, name_digest="b" * 64, id_masked="x", name_masked="张*"),
        occurred_at=at,
        received_at=datetime(2026, 1, 3, tzinfo=SHANGHAI),
        attributes=ATTRS[source],
        provenance=Provenance(channel=Channel.KAFKA, source_record_id=record),
    )


def test_daily_counts_per_person_source_and_beijing_day_r_7_5_2() -> None:
    late_evening = datetime(2026, 1, 1, 23, 30, tzinfo=SHANGHAI)
    morning = datetime(2026, 1, 1, 8, 0, tzinfo=SHANGHAI)
    after_midnight_beijing = datetime(2026, 1, 1, 16, 30, tzinfo=UTC)  # 2026-01-02 00:30 +08
    events = [
        event("1", ALICE, "transit_topup", late_evening),
        event("2", ALICE, "transit_topup", morning),
        event("3", ALICE, "transit_topup", after_midnight_beijing),
        event("4", ALICE, "pharmacy_purchase", morning),
        event("5", BOB, "transit_topup", morning),
    ]
    assert daily_counts(events) == {
        (ALICE, "transit_topup", date(2026, 1, 1)): (2, late_evening),
        (ALICE, "transit_topup", date(2026, 1, 2)): (1, after_midnight_beijing),
        (ALICE, "pharmacy_purchase", date(2026, 1, 1)): (1, morning),
        (BOB, "transit_topup", date(2026, 1, 1)): (1, morning),
    }


def test_utc_afternoon_is_the_next_beijing_day() -> None:
    """16:30Z on 1 January is 00:30 on 2 January in Beijing; 23:30+08 stays on the 1st."""
    counts = daily_counts(
        [
            event("1", ALICE, "transit_topup", datetime(2026, 1, 1, 23, 30, tzinfo=SHANGHAI)),
            event("2", ALICE, "transit_topup", datetime(2026, 1, 1, 16, 30, tzinfo=UTC)),
        ]
    )
    assert sorted(day for _, _, day in counts) == [date(2026, 1, 1), date(2026, 1, 2)]
    assert all(n == 1 for n, _ in counts.values())


def test_latest_time_is_kept_whatever_the_order() -> None:
    early = event("1", ALICE, "transit_topup", datetime(2026, 1, 1, 7, tzinfo=SHANGHAI))
    late = event("2", ALICE, "transit_topup", datetime(2026, 1, 1, 21, tzinfo=SHANGHAI))
    key = (ALICE, "transit_topup", date(2026, 1, 1))
    assert daily_counts([early, late])[key] == (2, late.occurred_at)
    assert daily_counts([late, early])[key] == (2, late.occurred_at)


def test_empty_batch() -> None:
    assert daily_counts([]) == {}
