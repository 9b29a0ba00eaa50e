"""The end-to-end slice of the foundation issue, as a scenario a person can watch.

Four pensioners are imported from an R-7.2 registry CSV. Then departments publish:
a funeral record for one (and the same record again), a bank-card password change for
another who is in the warning period, a malformed message and a record with a wrong id
check digit. Expected: one SUSPEND for the deceased (R-7.5.1 b, R-7.9), a deferred
validity for the card holder (R-7.10), two dead letters with their reasons, nothing stalled.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer

from lifesign import topics
from lifesign.bus import DeadLetter, Producer
from lifesign.catalogue import get_source
from lifesign.certification import PaymentCommand, StateChange
from lifesign.events import FeedRecord
from lifesign.identity import Pseudonymizer, make_id_number
from lifesign.settings import TIMEZONE

#: How long before the slice runs the card holder changed their password (R-7.10).
PASSWORD_CHANGE_AGO = timedelta(hours=2)


@dataclass(frozen=True)
class DemoPensioner:
    key: str
    person_id: str
    name: str
    region: str
    birth: date
    sequence: int
    insurance_type: str
    benefit_start: date
    last_certified_on: date

    @property
    def id_number(self) -> str:
        return make_id_number(self.region, self.birth, self.sequence)


def pensioners(today: date) -> list[DemoPensioner]:
    """Four pensioners whose statuses on ``today`` are known in advance."""
    return [
        # Certified 6 months ago: eligible; a funeral record will arrive.
        DemoPensioner("deceased", "P0001", "张建国", "110105", date(1941, 3, 15), 11,
                      "enterprise", date(2001, 4, 1), today - timedelta(days=180)),
        # Certified 11 months ago: in the warning period; changes her bank-card password.
        DemoPensioner("card_holder", "P0002", "王秀英", "310104", date(1950, 7, 2), 22,
                      "enterprise", date(2005, 8, 1), today - timedelta(days=330)),
        # A minority name with the middle dot; certified 3 months ago; nothing happens.
        DemoPensioner("quiet", "P0003", "阿依古丽·买买提", "650102", date(1955, 11, 8), 24,
                      "urban_rural_resident", date(2015, 12, 1), today - timedelta(days=90)),
        # Registered in 宣武区 (110104), a district abolished in 2010: the id stays valid.
        DemoPensioner("old_region", "P0004", "李卫东", "110104", date(1948, 5, 20), 13,
                      "public_institution", date(2008, 6, 1), today - timedelta(days=275)),
    ]  # fmt: skip


def registry_csv(people: Sequence[DemoPensioner]) -> str:
    """The R-7.2 registry as the business system would export it (Chinese headers work
    too; English ones are used here)."""
    out = io.StringIO()
    columns = [
        "person_id", "name", "id_type", "id_number", "registration_region",
        "residence_region", "insurance_type", "benefit_status", "benefit_start",
        "monthly_benefit", "phone", "last_certified_on",
    ]  # fmt: skip
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    for p in people:
        writer.writerow(
            {
                "person_id": p.person_id,
                "name": p.name,
                "id_type": "01",
                "id_number": p.id_number,
                "registration_region": p.region,
                "residence_region": p.region,
                "insurance_type": p.insurance_type,
                "benefit_status": "normal",
                "benefit_start": p.benefit_start.isoformat(),
                "monthly_benefit": "3250.00",
                "phone": "13800000000",
                "last_certified_on": p.last_certified_on.isoformat(),
            }
        )
    return out.getvalue()


@dataclass(frozen=True)
class FeedMessage:
    source: str
    value: bytes
    label: str


def feed_messages(people: Sequence[DemoPensioner], now: datetime) -> list[FeedMessage]:
    by_key = {p.key: p for p in people}
    deceased, holder = by_key["deceased"], by_key["card_holder"]
    death_day = (now - timedelta(days=3)).date()
    funeral = FeedRecord(
        record_id="BJ-FH-2026-000123",
        id_number=deceased.id_number,
        name=deceased.name,
        occurred_at=(now - timedelta(days=1)).replace(tzinfo=None),
        region="110105",
        attributes={
            "death_date": death_day.isoformat(),
            "cremation_date": (death_day + timedelta(days=2)).isoformat(),
            "funeral_home": "八宝山殡仪馆",
        },
    )
    password = FeedRecord(
        record_id="ICBC-PWD-88120931",
        id_number=holder.id_number.lower(),  # lower-case x and all: ingest normalises
        name=holder.name,
        occurred_at=(now - PASSWORD_CHANGE_AGO).replace(tzinfo=None),
        region="310104",
        attributes={"bank_code": "ICBC", "channel": "atm", "card_last4": "4417"},
    )
    bad_digit = funeral.model_copy(
        update={"record_id": "BJ-FH-2026-000124", "id_number": deceased.id_number[:17] + "0"}
    )
    if bad_digit.id_number == deceased.id_number:
        bad_digit = bad_digit.model_copy(update={"id_number": deceased.id_number[:17] + "1"})
    return [
        FeedMessage("funeral_cremation", funeral.model_dump_json().encode(), "funeral record"),
        FeedMessage("funeral_cremation", funeral.model_dump_json().encode(), "same record again"),
        FeedMessage("bank_card_password_change", password.model_dump_json().encode(),
                    "bank-card password change"),
        FeedMessage("funeral_cremation", b'{"record_id": "BJ-FH-BROKEN", "id_number": ',
                    "malformed JSON"),
        FeedMessage("funeral_cremation", bad_digit.model_dump_json().encode(),
                    "wrong check digit"),
    ]  # fmt: skip


@dataclass
class Observed:
    """What the demo saw on the output topics."""

    changes: list[StateChange] = field(default_factory=list)
    commands: list[PaymentCommand] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def latest(self, pseudonym: str) -> StateChange | None:
        mine = [c for c in self.changes if c.pseudonym == pseudonym]
        return max(mine, key=lambda c: c.version) if mine else None


async def watch(
    bootstrap: str, observed: Observed, done: asyncio.Event, *, stop: asyncio.Event
) -> None:
    """Read the output topics from the beginning into ``observed`` until ``stop``."""
    consumer = AIOKafkaConsumer(
        topics.STATE_CHANGES,
        topics.PAYMENTS_COMMANDS,
        topics.EVENTS_REJECTED,
        bootstrap_servers=bootstrap,
        group_id=f"lifesign-demo-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for r in records:
                    if r.topic == topics.STATE_CHANGES:
                        observed.changes.append(StateChange.model_validate_json(r.value or b""))
                    elif r.topic == topics.PAYMENTS_COMMANDS:
                        observed.commands.append(PaymentCommand.model_validate_json(r.value or b""))
                    else:
                        observed.dead_letters.append(DeadLetter.model_validate_json(r.value or b""))
            done.set()
    finally:
        await consumer.stop()


async def publish_feeds(bootstrap: str, messages: Sequence[FeedMessage]) -> None:
    producer = Producer(bootstrap, client_id="demo-departments")
    await producer.start()
    try:
        for m in messages:
            future = await producer.send(get_source(m.source).feed_topic, m.value)
            await future
    finally:
        await producer.stop()


async def wait_until(predicate: Any, *, timeout: float, what: str) -> float:  # noqa: ASYNC109
    """Poll ``predicate`` until true; return the seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - start


@dataclass
class SliceResult:
    people: list[DemoPensioner]
    pseudonyms: dict[str, str]
    before: dict[str, StateChange]
    observed: Observed
    import_answer: dict[str, Any]
    seconds_registry: float
    seconds_events: float


async def run_slice(
    *, bootstrap: str, ingest_url: str, pseudonymizer: Pseudonymizer, now: datetime,
    timeout: float = 45.0,  # noqa: ASYNC109 - one budget for several waits
) -> SliceResult:  # fmt: skip
    """Drive the slice against a running stack and return what happened."""
    import httpx

    people = pensioners(now.astimezone(TIMEZONE).date())
    keys = {p.key: pseudonymizer.person(p.id_number) for p in people}
    deceased, holder = keys["deceased"], keys["card_holder"]
    observed, stop, ready = Observed(), asyncio.Event(), asyncio.Event()
    watcher = asyncio.create_task(watch(bootstrap, observed, ready, stop=stop))
    try:
        await asyncio.wait_for(ready.wait(), timeout)
        async with httpx.AsyncClient(base_url=ingest_url, timeout=30) as client:
            answer = await client.post(
                "/registry/import", params={"file": "demo-registry.csv"},
                content=registry_csv(people).encode(),
            )  # fmt: skip
            answer.raise_for_status()
        seconds_registry = await wait_until(
            lambda: all(observed.latest(k) for k in keys.values()),
            timeout=timeout, what="the registry's first statuses",
        )  # fmt: skip
        before = {k: c for k in keys.values() if (c := observed.latest(k)) is not None}
        started = time.monotonic()
        await publish_feeds(bootstrap, feed_messages(people, now))
        await wait_until(
            lambda: any(c.pseudonym == deceased for c in observed.commands)
            and len(observed.dead_letters) >= 2
            and (observed.latest(holder) or before[holder]).version > before[holder].version,
            timeout=timeout, what="the SUSPEND command, the deferral and the dead letters",
        )  # fmt: skip
        seconds_events = time.monotonic() - started
        await asyncio.sleep(1.0)  # time for a wrong second SUSPEND to show up, if any
    finally:
        stop.set()
        await watcher
    return SliceResult(
        people, keys, before, observed, answer.json(), seconds_registry, seconds_events
    )


def summary_rows(result: SliceResult) -> list[dict[str, str]]:
    """One row per pensioner: masked identity, status before and after, validity end."""
    from lifesign.identity import mask_id_number, mask_name

    rows = []
    for p in result.people:
        key = result.pseudonyms[p.key]
        before, after = result.before.get(key), result.observed.latest(key)
        rows.append(
            {
                "name": mask_name(p.name),
                "id": mask_id_number(p.id_number),
                "before": _status_text(before),
                "after": _status_text(after),
                "rule": after.rule if after else "",
                "commands": ", ".join(
                    c.kind.value.upper() for c in result.observed.commands if c.pseudonym == key
                )
                or "-",
            }
        )
    return rows


def _status_text(change: StateChange | None) -> str:
    if change is None:
        return "-"
    if change.validity_end is None:
        return change.to_status.value
    return f"{change.to_status.value}, valid to {change.validity_end}"


def as_json(result: SliceResult) -> str:
    return json.dumps(
        {
            "pensioners": summary_rows(result),
            "dead_letters": [d.reason for d in result.observed.dead_letters],
            "seconds_registry": round(result.seconds_registry, 2),
            "seconds_events": round(result.seconds_events, 2),
        },
        ensure_ascii=False,
        indent=2,
    )
