"""Quality's handlers and scheduled checks against a real PostgreSQL (R-7.3.2, R-8.2.3.2).

The handler is called with batches as the consumer loop builds them; what it emits and
what it stores are read back from the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign import topics
from lifesign.bus import Batch, Envelope
from lifesign.cli import _print_quality_report
from lifesign.clock import FixedClock
from lifesign.events import (
    BenefitStatus,
    Channel,
    InsuranceType,
    LifeEvent,
    PensionerRecord,
    PersonRef,
    Provenance,
    event_id_for,
)
from lifesign.testing import migrated
from lifesign_quality import checks, report, repository
from lifesign_quality.consumers import NormalizedHandler, RegistryHandler
from lifesign_quality.main import SPEC
from lifesign_quality.models import finding

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 1, 10, 9, 0, tzinfo=SHANGHAI)
DAY_MS = int(DAY.timestamp() * 1000)  # the Kafka timestamp: the arrival of a bad message


@pytest.fixture
async def sessions(own_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(own_database, SPEC) as sessions:
        yield sessions


def person(n: int, sex_digit: str = "1") -> PersonRef:
    return PersonRef(
        pseudonym=f"{n:064x}",
        name_digest="b" * 64,
        id_masked=f"110105********00{sex_digit}X",
        name_masked="张*",
    )


def event(
    record_id: str,
    *,
    n: int = 1,
    source: str = "funeral_cremation",
    attributes: dict[str, Any] | None = None,
    received_at: datetime = DAY,
    occurred_at: datetime | None = None,
    sex_digit: str = "1",
) -> LifeEvent:
    return LifeEvent(
        event_id=event_id_for(source, record_id),
        source=source,
        person=person(n, sex_digit),
        occurred_at=occurred_at or received_at - timedelta(days=2),
        received_at=received_at,
        region="110105",
        attributes=(
            {"death_date": "2026-01-06", "cremation_date": "2026-01-08"}
            if attributes is None
            else attributes
        ),
        provenance=Provenance(channel=Channel.KAFKA, source_record_id=record_id),
    )


def batch(values: list[bytes], first_offset: int = 0) -> Batch[bytes]:
    return Batch(
        [
            Envelope(v, topics.EVENTS_NORMALIZED, 0, first_offset + i, None, [], DAY_MS)
            for i, v in enumerate(values)
        ]
    )


def raw(e: LifeEvent) -> bytes:
    return e.model_dump_json().encode()


async def handle(sessions: async_sessionmaker[AsyncSession], b: Batch[bytes]) -> Batch[bytes]:
    async with sessions.begin() as session:
        await NormalizedHandler(clock=FixedClock(DAY))(session, b)
    return b


def by_topic(b: Batch[bytes]) -> dict[str, int]:
    found: dict[str, int] = {}
    for m in b.outgoing:
        found[m.topic] = found.get(m.topic, 0) + 1
    return found


def pensioner(n: int, sex: str = "M", born: date = date(1950, 3, 1)) -> PensionerRecord:
    return PensionerRecord(
        pseudonym=f"{n:064x}",
        name_digest="b" * 64,
        person_id=f"P{n}",
        id_masked="110105********0011",
        name_masked="张*",
        sex=sex,
        birth_date=born,
        insurance_type=InsuranceType.ENTERPRISE,
        benefit_status=BenefitStatus.NORMAL,
        benefit_start=date(2010, 1, 1),
        registration_region="110105",
        benefit_region="110105",
        updated_at=DAY - timedelta(days=30),
    )


async def test_counts_balance_per_source_and_day_r_7_3_2(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clean = event("r1")
    incomplete = event("r2", attributes={"death_date": "2026-01-06"})
    exact_copy = event("r1")
    near_copy = event("r1-R", received_at=DAY + timedelta(hours=2))
    near_copy = near_copy.model_copy(update={"occurred_at": clean.occurred_at})
    not_an_event = b'{"source": "funeral_cremation", "event_id": 3}'
    unknown_source = raw(clean).replace(b'"funeral_cremation"', b'"street_lamp_sensor"')
    b = await handle(
        sessions,
        batch(
            [
                raw(clean),
                raw(incomplete),
                raw(exact_copy),
                raw(near_copy),
                not_an_event,
                unknown_source,
                b"{broken",
            ]
        ),
    )
    assert by_topic(b) == {topics.EVENTS_VALIDATED: 1, topics.EVENTS_QUARANTINED: 1}
    assert [reason.split(":")[0] for _, reason in b.rejected] == ["not a LifeEvent"] * 3
    async with sessions() as session:
        rows = {r["source"]: r for r in await repository.counts(session)}
    funeral = rows["funeral_cremation"]
    assert (funeral["received"], funeral["accepted"], funeral["quarantined"]) == (5, 1, 1)
    assert (funeral["duplicates"], funeral["rejected"]) == (2, 1)
    # The unknown source and the unparsable message are counted, not lost.
    assert rows["(unknown)"]["received"] == rows["(unknown)"]["rejected"] == 2
    for r in rows.values():
        assert r["received"] == r["accepted"] + r["quarantined"] + r["rejected"] + r["duplicates"]


async def test_duplicates_dropped_once_and_listed_redelivery_processed_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    original = event("r1")
    first = await handle(sessions, batch([raw(original)]))
    again = await handle(sessions, batch([raw(original)]))  # same coordinates: a redelivery
    copy = await handle(sessions, batch([raw(original)], first_offset=7))
    assert by_topic(first) == by_topic(again) == {topics.EVENTS_VALIDATED: 1}
    assert by_topic(copy) == {}
    near = event("r1-R", received_at=DAY + timedelta(days=2))
    near = near.model_copy(update={"occurred_at": original.occurred_at})
    assert by_topic(await handle(sessions, batch([raw(near)], first_offset=9))) == {}
    async with sessions() as session:
        dropped = await repository.record_ids_with(session, ["Q-ENT-02", "Q-ENT-03"])
        rows = await repository.counts(session)
    # The redelivery is emitted again but counted once: received 3 = accepted 1 + 2 copies.
    totals = [sum(r[k] for r in rows) for k in ("received", "accepted", "duplicates")]
    assert totals == [3, 1, 2]
    assert sorted((d["rule_id"], d["record_id"]) for d in dropped) == [
        ("Q-ENT-02", "r1"),
        ("Q-ENT-03", "r1-R"),
    ]


async def test_registry_rules_reference_sex_and_birth(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        await RegistryHandler()(
            session,
            Batch([Envelope(pensioner(1), topics.REGISTRY_PENSIONERS, 0, 0, None, [], 0)]),
        )
    unknown = event("a", n=2)
    wrong_sex = event("b", n=1, sex_digit="2")
    before_birth = event(
        "c", n=1, attributes={"death_date": "1949-01-01", "cremation_date": "2026-01-08"}
    )
    b = await handle(sessions, batch([raw(unknown), raw(wrong_sex), raw(before_birth)]))
    assert by_topic(b) == {topics.EVENTS_VALIDATED: 2, topics.EVENTS_QUARANTINED: 1}
    async with sessions() as session:
        found = {
            (r.event_id, r.rule_id)
            for r in await session.execute(select(finding.c.event_id, finding.c.rule_id))
        }
    assert (unknown.event_id, "Q-REF-01") in found
    assert (wrong_sex.event_id, "Q-VAL-01") in found
    assert (before_birth.event_id, "Q-LOG-02") in found


async def test_death_dates_across_sources_and_successive_reports(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    funeral = event("f1", attributes={"death_date": "2026-01-06", "cremation_date": "2026-01-08"})
    await handle(sessions, batch([raw(funeral)]))
    household = event(
        "h1",
        source="household_cancellation",
        attributes={
            "cancellation_reason": "death",
            "cancellation_date": "2026-01-09",
            "death_date": "2025-12-20",
        },
    )
    again = event("f2", attributes={"death_date": "2025-12-01", "cremation_date": "2026-01-08"})
    await handle(sessions, batch([raw(household), raw(again)], first_offset=5))
    async with sessions() as session:
        found = {
            r.rule_id: r.event_id
            for r in await session.execute(select(finding.c.event_id, finding.c.rule_id))
        }
    assert found["Q-VAL-02"] in (household.event_id, again.event_id)
    assert found["Q-REA-01"] == again.event_id


async def test_a_ten_megabyte_attribute_is_quarantined_small(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    huge = event("big", attributes={"death_date": "2026-01-06", "cremation_date": "x" * 10_000_000})
    nested = event("nest", attributes={"death_date": {"y": 1}, "cremation_date": "2026-01-08"})
    b = await handle(sessions, batch([raw(huge), raw(nested)]))
    assert by_topic(b) == {topics.EVENTS_QUARANTINED: 2}
    assert all(len(m.value) < 10_000 for m in b.outgoing)
    held = [orjson.loads(m.value) for m in b.outgoing]
    assert {f["rule_id"] for h in held for f in h["failures"]} >= {"Q-DOM-03", "Q-DOM-01"}


async def test_silent_source_flagged_with_its_backlog_and_the_report(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Overall completeness: 12 records a day, then nothing for 4 days, then the backlog."""
    start = datetime(2026, 1, 1, 10, tzinfo=SHANGHAI)
    source = "outpatient_settlement"
    attrs = {"institution_code": "H1", "settlement_date": "2026-01-01", "total_cost": "10.00"}
    values, n = [], 0
    backlog: list[str] = []
    for day in range(30):
        if 20 <= day < 24:
            continue
        for k in range(12 if day != 24 else 60):
            n += 1
            received = start + timedelta(days=day, minutes=k)
            occurred = received - timedelta(hours=6)
            if day == 24 and k >= 12:
                occurred = start + timedelta(days=20 + k % 4, minutes=k)  # held back
                backlog.append(f"o{n}")
            values.append(
                raw(
                    event(
                        f"o{n}",
                        n=n,
                        source=source,
                        attributes=attrs,
                        received_at=received,
                        occurred_at=occurred,
                    )
                )
            )
    await handle(sessions, batch(values))
    result = await checks.run_checks(sessions, date(2026, 1, 15), date(2026, 1, 30))
    assert result.silent == [
        {"source": source, "first": "2026-01-21", "last": "2026-01-24", "flagged": 48}
    ]
    assert result.flood_days == 1
    again = await checks.run_checks(sessions, date(2026, 1, 15), date(2026, 1, 30))
    assert again.backlog_flagged == 0  # nothing is flagged twice
    async with sessions() as session:
        flagged = await repository.record_ids_with(session, ["Q-OVC-03"])
        built = await report.build(session, date(2026, 1, 1), date(2026, 1, 31))
    assert sorted(f["record_id"] for f in flagged) == sorted(backlog)
    assert built["balanced"] is True
    assert {(v["kind"], v["day"]) for v in built["silent_or_flooding"]} >= {
        ("silent", "2026-01-21"),
        ("flood", "2026-01-25"),
    }
    assert built["scores"]["overall_completeness"] < 1.0
    _print_quality_report(orjson.loads(orjson.dumps(built)))  # the CLI's view of the JSON
    page = report.render_html(built)
    assert "<svg" in page and "<script" not in page and "http" not in page


async def test_a_backlog_that_runs_past_its_flood_day_is_flagged_to_its_end(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Overall completeness (Q-OVC-03, R-7.3.2): 20 records a day, silent for 5 days; the
    backlog comes from 08:00 on the day the feed returns and runs into the next morning,
    where it is no flood of its own but still far above the usual: flagged to its end."""
    start = datetime(2026, 9, 1, 10, tzinfo=SHANGHAI)
    attrs = {"pharmacy_code": "P1", "amount": "12.50"}
    values, backlog, n = [], [], 0

    def add(record_id: str, occurred: datetime, received: datetime) -> None:
        nonlocal n
        n += 1
        values.append(
            raw(
                event(
                    record_id,
                    n=900 + n,
                    source="pharmacy_purchase",
                    attributes=attrs,
                    received_at=received,
                    occurred_at=occurred,
                )
            )
        )

    for day in range(40):
        if 20 <= day < 25:
            continue
        for k in range(20):
            received = start + timedelta(days=day, minutes=10 * k)
            add(f"p{day}-{k}", received - timedelta(hours=2), received)
    back = start.replace(hour=8) + timedelta(days=25)
    for k in range(100):  # the silent week's records, sent in their own order from 08:00
        occurred = start + timedelta(days=20 + k // 20, minutes=10 * (k % 20))
        received = back + timedelta(minutes=15 * k)  # the last 36 after midnight
        add(f"b{k}", occurred, received)
        backlog.append(f"b{k}")
    await handle(sessions, batch(values))
    result = await checks.run_checks(sessions, date(2026, 9, 15), date(2026, 10, 10))
    assert result.flood_days == 1
    async with sessions() as session:
        flagged = await repository.record_ids_with(session, ["Q-OVC-03"])
    assert sorted(f["record_id"] for f in flagged) == sorted(backlog)


async def test_a_held_back_batch_is_flagged_when_it_arrives(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Update timeliness: ten records a day; day 20's batch arrives 40 days late (Q-TIM-03)."""
    start = datetime(2026, 1, 1, 10, tzinfo=SHANGHAI)
    source = "outpatient_settlement"
    attrs = {"institution_code": "H1", "settlement_date": "2026-01-01", "total_cost": "10.00"}
    values, held = [], []
    for day in range(80):
        for k in range(10):
            occurred = start + timedelta(days=day, minutes=k)
            received = occurred + timedelta(hours=6)
            record_id = f"d{day}-{k}"
            if day == 20:
                received += timedelta(days=40)
                held.append(record_id)
            values.append(
                raw(
                    event(
                        record_id,
                        n=day * 10 + k,
                        source=source,
                        attributes=attrs,
                        received_at=received,
                        occurred_at=occurred,
                    )
                )
            )
    await handle(sessions, batch(values))
    result = await checks.run_checks(sessions, date(2026, 1, 15), date(2026, 3, 21))
    assert (result.held_back, result.held_flagged) == (1, 10)
    async with sessions() as session:
        flagged = await repository.record_ids_with(session, ["Q-TIM-03"])
        built = await report.build(session, date(2026, 1, 1), date(2026, 3, 31))
    assert sorted(f["record_id"] for f in flagged) == sorted(held)
    # Each held record is also stale (Q-TIM-01) and in a late delivery (Q-TIM-02): the
    # dimension's score counts it once.
    assert built["worst_rules"][0]["count"] == 10
    assert built["scores"]["update_timeliness"] == pytest.approx(1 - 10 / 800)


async def test_a_record_far_older_than_its_source_shows_is_stale(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Q-TIM-01 by the scheduled check: household cancellations arrive within hours of
    being made (the catalogue's 90 days count from the death), so one that arrives 40 days
    after it was made is stale, though far within 6 x 90 days (R-7.3.2 update timeliness)."""
    start = datetime(2026, 6, 1, 10, tzinfo=SHANGHAI)
    values = []
    for day in range(25):
        occurred = start + timedelta(days=day)
        received = occurred + (timedelta(days=40) if day == 3 else timedelta(hours=2))
        attributes = {"cancellation_reason": "death", "cancellation_date": str(occurred.date())}
        values.append(
            raw(
                event(
                    f"hc{day}",
                    n=700 + day,
                    source="household_cancellation",
                    attributes=attributes,
                    received_at=received,
                    occurred_at=occurred,
                )
            )
        )
    await handle(sessions, batch(values))
    async with sessions() as session:
        assert await repository.record_ids_with(session, ["Q-TIM-01"]) == []  # per event
    result = await checks.run_checks(sessions, date(2026, 6, 1), date(2026, 7, 20))
    assert result.stale_flagged == 1
    async with sessions() as session:
        flagged = await repository.record_ids_with(session, ["Q-TIM-01"])
    assert [f["record_id"] for f in flagged] == ["hc3"]
    again = await checks.run_checks(sessions, date(2026, 6, 1), date(2026, 7, 20))
    assert again.stale_flagged == 0


async def test_a_sparse_sources_held_back_batch_is_flagged_by_its_cluster(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Update timeliness for a source that sends every other day (its empty days say
    nothing): day 20's batch of three arrives 40 days late as a cluster of old records on
    one day (Q-TIM-03, R-7.3.2); re-running flags nothing twice."""
    start = datetime(2026, 1, 1, 10, tzinfo=SHANGHAI)
    source = "outpatient_settlement"
    attrs = {"institution_code": "H1", "settlement_date": "2026-01-01", "total_cost": "10.00"}
    values, held = [], []
    plan = [(day, 0, timedelta(hours=6)) for day in range(1, 80, 2)]
    plan += [(20, k, timedelta(days=40, hours=6)) for k in range(3)]
    for n, (day, k, delay) in enumerate(plan):
        occurred = start + timedelta(days=day, minutes=k)
        record_id = f"s{day}-{k}"
        if day == 20:
            held.append(record_id)
        values.append(
            raw(
                event(
                    record_id,
                    n=n,
                    source=source,
                    attributes=attrs,
                    received_at=occurred + delay,
                    occurred_at=occurred,
                )
            )
        )
    await handle(sessions, batch(values))
    result = await checks.run_checks(sessions, date(2026, 1, 1), date(2026, 3, 21))
    assert (result.held_back, result.held_flagged) == (1, 3)
    again = await checks.run_checks(sessions, date(2026, 1, 1), date(2026, 3, 21))
    assert again.held_flagged == 0
    async with sessions() as session:
        flagged = await repository.record_ids_with(session, ["Q-TIM-03"])
    assert sorted(f["record_id"] for f in flagged) == sorted(held)
