"""The matcher's handlers against a real PostgreSQL: idempotence and the fold on disk.

ARCHITECTURE principle 2: the same event delivered twice (a redelivery after a crash)
gives one state change and one outbox message; principle 1: the order of evidence does
not matter.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifesign.bus import Batch, Envelope, encode
from lifesign.calendar import RegionalAlignment
from lifesign.catalogue import CertificationMethod
from lifesign.certification import StateChange, Status
from lifesign.clock import FixedClock
from lifesign.events import (
    BenefitStatus,
    Channel,
    FeatureContribution,
    InsuranceType,
    LifeEvent,
    NameCheck,
    PensionerRecord,
    PersonRef,
    Provenance,
    ScoringDecision,
    deterministic_id,
    event_id_for,
)
from lifesign.messaging import Outbox
from lifesign.testing import migrated
from lifesign.topics import EVENTS_AUXILIARY, STATE_CHANGES
from lifesign_matcher import repository
from lifesign_matcher.consumers import (
    Certifier,
    DecisionHandler,
    RegistryHandler,
    ValidatedHandler,
    decode_head,
)
from lifesign_matcher.main import SPEC
from lifesign_matcher.models import matched_event, messaging, transition
from lifesign_matcher.review import NotFound, Reviews

NOW = datetime(2026, 12, 3, 10, tzinfo=UTC)


@pytest.fixture
async def sessions(own_database: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with migrated(own_database, SPEC) as sessions:
        yield sessions


def person(n: int) -> PersonRef:
    return PersonRef(
        pseudonym=f"{n:064x}",
        name_digest="b" * 64,
        id_masked="110105********0011",
        name_masked="张*",
    )


def pensioner(n: int, updated_at: datetime = NOW) -> PensionerRecord:
    return PensionerRecord(
        pseudonym=f"{n:064x}",
        name_digest="b" * 64,
        person_id=f"P{n}",
        id_masked="110105********0011",
        name_masked="张*",
        sex="M",
        birth_date=date(1941, 3, 15),
        insurance_type=InsuranceType.ENTERPRISE,
        benefit_status=BenefitStatus.NORMAL,
        benefit_start=date(2001, 4, 1),
        registration_region="110105",
        benefit_region="110105",
        last_certified_on=date(2026, 6, 1),
        updated_at=updated_at,
    )


def event(n: int, source: str, record: str, at: datetime, **attributes: str) -> LifeEvent:
    return LifeEvent(
        event_id=event_id_for(source, record),
        source=source,
        person=person(n),
        occurred_at=at,
        received_at=NOW,
        attributes=attributes,
        provenance=Provenance(channel=Channel.KAFKA, source_record_id=record),
    )


def batch(*values: object) -> Batch[object]:
    return Batch([Envelope(v, "t", 0, i, None, [], 0) for i, v in enumerate(values)])


async def handle(
    sessions: async_sessionmaker[AsyncSession], handler: object, b: Batch[object]
) -> None:
    async with sessions.begin() as session:
        await handler(session, b)  # type: ignore[operator]


async def published(sessions: async_sessionmaker[AsyncSession]) -> list[StateChange]:
    async with sessions() as session:
        rows = (
            await session.execute(
                select(messaging.outbox.c.value)
                .where(messaging.outbox.c.topic == STATE_CHANGES)
                .order_by(messaging.outbox.c.id)
            )
        ).scalars()
        return [StateChange.model_validate_json(v) for v in rows]


async def test_a_redelivered_death_record_changes_the_state_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(messaging.outbox)
    certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
    await handle(sessions, RegistryHandler(certifier=certifier), batch(pensioner(1)))
    death = event(1, "funeral_cremation", "FH-1", NOW - timedelta(days=1),
                  death_date="2026-11-30", cremation_date="2026-12-02")  # fmt: skip
    handler = ValidatedHandler(certifier=certifier, outbox=outbox)
    await handle(sessions, handler, batch(death))
    await handle(sessions, handler, batch(death, death))  # redelivered, and twice in a batch

    changes = await published(sessions)
    assert [(c.from_status, c.to_status) for c in changes] == [
        (None, Status.ELIGIBLE),
        (Status.ELIGIBLE, Status.LOST),
    ]
    assert changes[1].evidence == [death.event_id]
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(transition))
    assert count == 2


async def test_evidence_in_either_order_gives_the_same_status(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Principle 1 on disk: a proof of life after a death record is a conflict (R-7.5.1 d)
    whichever arrives first."""
    outbox = Outbox(messaging.outbox)
    certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
    handler = ValidatedHandler(certifier=certifier, outbox=outbox)
    await handle(sessions, RegistryHandler(certifier=certifier), batch(pensioner(2), pensioner(3)))
    for n, order in ((2, ("death", "alive")), (3, ("alive", "death"))):
        items = {
            "death": event(n, "funeral_cremation", f"FH-{n}", NOW - timedelta(days=20),
                           death_date="2026-11-10", cremation_date="2026-11-13"),
            "alive": event(n, "bank_card_password_change", f"PW-{n}", NOW - timedelta(days=2),
                           bank_code="ICBC", channel="atm", card_last4="1234"),
        }  # fmt: skip
        for name in order:
            await handle(sessions, handler, batch(items[name]))
    latest: dict[str, StateChange] = {}
    for change in await published(sessions):
        latest[change.pseudonym] = change
    finals = [latest[f"{n:064x}"] for n in (2, 3)]
    assert {(c.to_status, c.hold_payment) for c in finals} == {(Status.PENDING, True)}
    assert finals[0].conflict == finals[1].conflict
    assert "after death" in (finals[0].conflict or "")


async def test_a_batch_spanning_days_dates_each_change_by_its_evidence(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A replayed feed packs weeks into one batch: the change is dated at the arrival of
    the funeral record, not of the household cancellation that came a month later."""
    # The registry was loaded two months ago; the records arrived since.
    outbox = Outbox(messaging.outbox)
    certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
    loaded = NOW - timedelta(days=60)
    await handle(sessions, RegistryHandler(certifier=certifier), batch(pensioner(4, loaded)))
    funeral = event(4, "funeral_cremation", "FH-4", NOW - timedelta(days=40),
                    death_date="2026-10-22", cremation_date="2026-10-24")  # fmt: skip
    funeral = funeral.model_copy(update={"received_at": NOW - timedelta(days=38)})
    cancelled = event(4, "household_cancellation", "HC-4", NOW - timedelta(days=5),
                      cancellation_reason="death", cancellation_date="2026-11-28",
                      death_date="2026-10-22")  # fmt: skip
    cancelled = cancelled.model_copy(update={"received_at": NOW - timedelta(days=5)})
    await handle(
        sessions, ValidatedHandler(certifier=certifier, outbox=outbox), batch(cancelled, funeral)
    )
    mine = [c for c in await published(sessions) if c.pseudonym == f"{4:064x}"]
    assert [(c.to_status, c.as_of) for c in mine] == [
        (Status.ELIGIBLE, loaded.date()),
        (Status.LOST, (NOW - timedelta(days=38)).date()),
    ]


async def test_evidence_processed_out_of_order_never_turns_the_clock_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A bank event that arrived before the death but is processed after it must not
    bring a dead pensioner back (no RESTORE for a death: the fund would pay again)."""
    outbox = Outbox(messaging.outbox)
    certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
    handler = ValidatedHandler(certifier=certifier, outbox=outbox)
    await handle(
        sessions,
        RegistryHandler(certifier=certifier),
        batch(pensioner(5, NOW - timedelta(days=90))),
    )
    death = event(5, "funeral_cremation", "FH-5", NOW - timedelta(days=10),
                  death_date="2026-11-22", cremation_date="2026-11-23")  # fmt: skip
    death = death.model_copy(update={"received_at": NOW - timedelta(days=9)})
    earlier = event(5, "bank_card_password_change", "PW-5", NOW - timedelta(days=30),
                    bank_code="ICBC", channel="atm", card_last4="1234")  # fmt: skip
    earlier = earlier.model_copy(update={"received_at": NOW - timedelta(days=29)})
    await handle(sessions, handler, batch(death))
    await handle(sessions, handler, batch(earlier))
    mine = [c for c in await published(sessions) if c.pseudonym == f"{5:064x}"]
    assert mine[-1].to_status is Status.LOST
    assert [c.to_status for c in mine].count(Status.LOST) == 1


async def test_evidence_that_arrives_before_its_pensioner_is_matched_when_they_do(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """R-7.5.1 c then a/b: a death record for someone not yet in the registry waits, and is
    applied when the registry record arrives (a race between topics must not lose it)."""
    outbox = Outbox(messaging.outbox)
    certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
    events = ValidatedHandler(certifier=certifier, outbox=outbox)
    death = event(6, "funeral_cremation", "FH-6", NOW - timedelta(days=3),
                  death_date="2026-11-29", cremation_date="2026-12-01")  # fmt: skip
    await handle(sessions, events, batch(death))
    assert [c for c in await published(sessions) if c.pseudonym == f"{6:064x}"] == []
    await handle(sessions, RegistryHandler(certifier=certifier, events=events), batch(pensioner(6)))
    mine = [c for c in await published(sessions) if c.pseudonym == f"{6:064x}"]
    assert [c.to_status for c in mine] == [Status.LOST]
    assert mine[0].evidence == [death.event_id]


async def test_a_reviewer_confirms_a_name_mismatched_death_and_later_retracts_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """R-7.3.3.2: held until confirmed, then applied; R-7.11: a retraction brings the
    pensioner back (and lifts the payment hold, so payments restore with arrears)."""
    outbox = Outbox(messaging.outbox)
    certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
    events = ValidatedHandler(certifier=certifier, outbox=outbox)
    reviews = Reviews(events=events, certifier=certifier)
    await handle(
        sessions,
        RegistryHandler(certifier=certifier, events=events),
        batch(pensioner(7, NOW - timedelta(days=30))),
    )
    death = event(7, "funeral_cremation", "FH-7", NOW - timedelta(days=5),
                  death_date="2026-11-27", cremation_date="2026-11-29")  # fmt: skip
    death = death.model_copy(
        update={"person": death.person.model_copy(update={"name_digest": "c" * 64})}
    )
    await handle(sessions, events, batch(death))
    mine = [c for c in await published(sessions) if c.pseudonym == f"{7:064x}"]
    assert [c.to_status for c in mine] == [Status.ELIGIBLE]  # held for review, not applied

    async with sessions.begin() as session:
        assert (
            await reviews.resolve(session, death.event_id, confirm=True, reviewer="王科长", at=NOW)
            == "confirmed"
        )
    async with sessions.begin() as session:
        with pytest.raises(NotFound):
            await reviews.resolve(session, death.event_id, confirm=True, reviewer="王科长", at=NOW)
    mine = [c for c in await published(sessions) if c.pseudonym == f"{7:064x}"]
    assert [(c.to_status, c.hold_payment) for c in mine] == [
        (Status.ELIGIBLE, False),
        (Status.LOST, True),
    ]

    async with sessions.begin() as session:
        await reviews.retract(
            session, death.event_id, reason="wrong person", reviewer="李主任", at=NOW
        )
    mine = [c for c in await published(sessions) if c.pseudonym == f"{7:064x}"]
    assert [(c.to_status, c.hold_payment) for c in mine][-1] == (Status.ELIGIBLE, False)


# --- Scoring's decisions (R-7.5.2.3) and auxiliary forwarding (R-7.4.3) -------------


def decision(n: int, *, confirmed: bool, at: datetime = NOW) -> ScoringDecision:
    return ScoringDecision(
        decision_id=deterministic_id("decision", str(n), at.isoformat(), str(confirmed)),
        pseudonym=f"{n:064x}",
        as_of=at.date(),
        proof_at=at - timedelta(days=2),
        decided_at=at,
        confirmed=confirmed,
        alive_probability=0.9991 if confirmed else 0.41,
        threshold=0.998,
        model_version="xgb-2026-11-01",
        contributions=[
            FeatureContribution(feature="days_since_medical", value=3, contribution=1.2)
        ],
    )


async def setup(
    sessions: async_sessionmaker[AsyncSession], last_certified_on: date
) -> tuple[Certifier, DecisionHandler]:
    certifier = Certifier(outbox=Outbox(messaging.outbox), clock=FixedClock(NOW))
    record = pensioner(1).model_copy(update={"last_certified_on": last_certified_on})
    await handle(sessions, RegistryHandler(certifier=certifier), batch(record))
    return certifier, DecisionHandler(certifier=certifier)


async def test_a_confirmed_decision_is_a_big_data_aux_proof_of_life_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, handler = await setup(sessions, date(2026, 1, 10))  # in the warning period on NOW
    confirmed = decision(1, confirmed=True)
    await handle(sessions, handler, batch(confirmed))
    await handle(sessions, handler, batch(confirmed, confirmed))  # redelivered

    changes = await published(sessions)
    assert [c.to_status for c in changes] == [Status.WARNING, Status.ELIGIBLE]
    last = changes[-1]
    assert last.last_proof_method is CertificationMethod.BIG_DATA_AUX
    assert last.validity_start == (NOW - timedelta(days=2)).date()  # from the proof
    assert last.evidence == [confirmed.decision_id]
    async with sessions() as session:
        explained = await repository.explain(session, f"{1:064x}")
    assert explained is not None
    assert explained["scoring_decisions"][0]["model_version"] == "xgb-2026-11-01"
    assert explained["scoring_decisions"][0]["contributions"][0]["feature"] == "days_since_medical"


async def test_not_confirmed_in_the_warning_period_is_pending_now(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, handler = await setup(sessions, date(2026, 1, 10))
    await handle(sessions, handler, batch(decision(1, confirmed=False)))

    changes = await published(sessions)
    assert [(c.to_status, c.rule) for c in changes][-1] == (Status.PENDING, "R-7.5.2.3")
    assert changes[-1].hold_payment is False  # scoring never suspends anyone


async def test_not_confirmed_outside_the_warning_period_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, handler = await setup(sessions, date(2026, 6, 1))  # eligible until March 2027
    await handle(sessions, handler, batch(decision(1, confirmed=False)))
    assert [c.to_status for c in await published(sessions)] == [Status.ELIGIBLE]


async def test_a_decision_about_someone_not_registered_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, handler = await setup(sessions, date(2026, 1, 10))
    await handle(sessions, handler, batch(decision(7, confirmed=True)))
    async with sessions() as session:
        assert await repository.explain(session, f"{7:064x}") is None


async def test_auxiliary_events_go_on_to_scoring_unchanged_without_a_database_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(messaging.outbox)
    certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
    trip = event(1, "transit_trip", "T-1", NOW - timedelta(hours=3), line="2")
    raw = encode(trip)
    b: Batch[object] = Batch([Envelope(trip, "t", 0, 0, None, [], 0, raw)])
    await handle(sessions, ValidatedHandler(certifier=certifier, outbox=outbox), b)

    [message] = b.outgoing
    assert message.topic == EVENTS_AUXILIARY and message.key == trip.person.pseudonym
    forwarded = json.loads(message.value)
    assert forwarded["outcome"] == "auxiliary" and forwarded["event"] == json.loads(raw)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(matched_event)) == 0


def headed(*events: bytes) -> Batch[object]:
    """A batch as the service's consumer decodes it: each event's head and its bytes."""
    return Batch(
        [Envelope(decode_head(raw), "t", 0, i, None, [], 0, raw) for i, raw in enumerate(events)]
    )


async def test_events_decoded_by_their_head_are_labelled_and_applied_r_7_4(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(messaging.outbox)
    certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
    await handle(sessions, RegistryHandler(certifier=certifier), batch(pensioner(1)))
    trip = encode(event(1, "transit_trip", "T-1", NOW - timedelta(hours=3), line="2"))
    death = encode(event(1, "funeral_cremation", "FH-1", NOW, death_date="2026-12-01"))
    b = headed(trip, death)
    await handle(sessions, ValidatedHandler(certifier=certifier, outbox=outbox), b)

    [message] = b.outgoing  # the trip, forwarded as it came
    assert json.loads(message.value)["event"] == json.loads(trip)
    assert not b.rejected
    assert [c.to_status for c in await published(sessions)][-1] is Status.LOST


async def test_a_direct_event_that_is_not_a_whole_life_event_is_dead_lettered(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Its head is valid (it is labelled direct), the rest is not: nothing may be applied
    # on half an event, and the reason names the field.
    outbox = Outbox(messaging.outbox)
    certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
    death = json.loads(encode(event(1, "funeral_cremation", "FH-1", NOW, death_date="2026-12-01")))
    death["occurred_at"] = "yesterday"
    b = headed(json.dumps(death).encode())
    await handle(sessions, ValidatedHandler(certifier=certifier, outbox=outbox), b)

    [(_, reason)] = b.rejected
    assert "occurred_at" in reason
    assert not b.outgoing
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(matched_event)) == 0


async def test_validity_ends_align_to_the_paying_regions_day_r_6_2(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    aligned = RegionalAlignment.parse({"1101": "12-31"})
    certifier = Certifier(outbox=Outbox(messaging.outbox), clock=FixedClock(NOW), alignment=aligned)
    other = pensioner(2).model_copy(update={"benefit_region": "410102"})
    await handle(sessions, RegistryHandler(certifier=certifier), batch(pensioner(1), other))
    ends = {c.pseudonym: c.validity_end for c in await published(sessions)}
    assert ends[f"{1:064x}"] == date(2026, 12, 31)  # 110105 is in 1101: aligned
    assert ends[f"{2:064x}"] == date(2027, 6, 1)  # 410102: certified on + 12 months


async def test_the_review_queue_shows_how_alike_the_names_are_r_7_3_3_2(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    outbox = Outbox(messaging.outbox)
    certifier = Certifier(outbox=outbox, clock=FixedClock(NOW))
    await handle(sessions, RegistryHandler(certifier=certifier), batch(pensioner(1)))
    death = event(1, "funeral_cremation", "FH-9", NOW, death_date="2026-12-01")
    mismatched = death.model_copy(
        update={
            "person": death.person.model_copy(update={"name_digest": "c" * 64}),
            "name_check": NameCheck(similarity=0.92, reasons=["same_pinyin"]),
        }
    )
    await handle(sessions, ValidatedHandler(certifier=certifier, outbox=outbox), batch(mismatched))
    async with sessions() as session:
        [queued] = await repository.open_reviews(session)
    assert queued["event_id"] == mismatched.event_id
    assert queued["name_similarity"] == 0.92
    assert queued["name_reasons"] == ["same_pinyin"]
