"""``lifesign demo``: a simulated county run through the running services, then evaluated.

1. Simulate a small county (a few thousand pensioners over a year).
2. Import its registry through ingest's HTTP API, dated at the start of the period.
3. Publish every department record to its feed topic in publication order, each message
   timestamped with the simulated publication time: the services take an event's arrival
   from that timestamp, so the whole year runs in seconds and each decision is dated in
   simulated time (ARCHITECTURE principle 5).
4. Wait until every service has drained its input, dump the output topics into a results
   directory, and evaluate the decisions against the ground truth.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from lifesign import topics
from lifesign.bus import Producer, ensure_topics
from lifesign.identity import Pseudonymizer
from lifesign.settings import TIMEZONE, LifesignSettings
from lifesign_sim import latency
from lifesign_sim.evaluate import FLAGGED_FILE
from lifesign_sim.formats import (
    DUPLICATES_FILE,
    FEEDS_DIR,
    PAYMENT_COMMANDS_FILE,
    QUARANTINED_FILE,
    REGISTRY_FILE,
    REJECTED_FILE,
    REVIEWS_FILE,
    STATE_CHANGES_FILE,
)

_PREFIX = re.compile(rb'^\{"reported_at":"([0-9T:-]{19})","record_id":"([^"]+)"')
_ID_NUMBER = re.compile(rb'"id_number":"([^"]*)"')

#: Output topics and the results file each is dumped to.
DUMPS = {
    topics.STATE_CHANGES: STATE_CHANGES_FILE,
    topics.PAYMENTS_COMMANDS: PAYMENT_COMMANDS_FILE,
    topics.EVENTS_REJECTED: REJECTED_FILE,
    topics.EVENTS_QUARANTINED: QUARANTINED_FILE,
}


@dataclass
class FeedLine:
    topic: str
    key: bytes  # the person (see person_key)
    timestamp_ms: int
    value: bytes


def feed_lines(province: Path) -> Iterator[FeedLine]:
    """Every record of every feed, merged in publication order (lines sort as bytes)."""
    files = sorted((province / FEEDS_DIR).glob("*.jsonl"))
    streams = [_lines(path) for path in files]
    yield from heapq.merge(*streams, key=lambda line: line.value[:64])


def _lines(path: Path) -> Iterator[FeedLine]:
    topic = f"feed.{path.stem}.v1"
    with open(path, "rb") as feed:
        for raw in feed:
            value = raw.rstrip(b"\n")
            match = _PREFIX.match(value)
            if match is None:
                continue
            moment = datetime.fromisoformat(match.group(1).decode()).replace(tzinfo=TIMEZONE)
            key = person_key(value, match.end()) or match.group(2)
            yield FeedLine(topic, key, int(moment.timestamp() * 1000), value)


def person_key(value: bytes, at: int = 0) -> bytes | None:
    """The message key a department gives a record: its person, as a stable hash of the id
    number it wrote (the id stays out of the key; a key only places the record). One
    person's records then share a partition and stay in the order they were published, so
    a copy sent days later cannot overtake its original on the way to quality, which keeps
    the first of a person's identical records (Q-ENT-03, R-7.3.2 entity integrity). None
    when the line holds no id number (a record cut short: it is keyed by its record id)."""
    found = _ID_NUMBER.search(value, at, at + 160)
    if found is None:
        return None
    return hashlib.blake2b(found.group(1), digest_size=16, person=b"feed-key").hexdigest().encode()


async def publish(
    bootstrap: str,
    province: Path,
    *,
    month_end: Callable[[date], Awaitable[None]] | None = None,
    on_sent: Callable[[str, bytes], None] | None = None,
) -> int:
    """Publish the province's feeds as the departments would have, fast; return how many.

    ``month_end(day)`` is awaited whenever the publication time crosses into a new month,
    with the last day of the month just published (the demo drains and sweeps there);
    ``on_sent(topic, value)`` is called as each record is handed to the producer.
    """
    feed_topics = sorted({f"feed.{p.stem}.v1" for p in (province / FEEDS_DIR).glob("*.jsonl")})
    await ensure_topics(bootstrap, feed_topics)  # unknown sources get a topic nobody reads
    producer = Producer(bootstrap, client_id="county-departments")
    await producer.start()
    sent = 0
    month: str | None = None
    try:
        pending: list[asyncio.Future[Any]] = []
        for line in feed_lines(province):
            this_month = line.value[16:23].decode()
            if month is not None and this_month != month and month_end is not None:
                await asyncio.gather(*pending)
                pending = []
                await month_end(_last_day(month))
            month = this_month
            pending.append(
                await producer.send(
                    line.topic, line.value, key=line.key, timestamp_ms=line.timestamp_ms
                )
            )
            sent += 1
            if on_sent is not None:
                on_sent(line.topic, line.value)
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
        if month is not None and month_end is not None:
            await month_end(_last_day(month))
    finally:
        await producer.stop()
    return sent


def _last_day(month: str) -> date:
    first = date.fromisoformat(f"{month}-01")
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


class Dumper:
    """Reads the output topics from the beginning into the results directory."""

    def __init__(self, bootstrap: str, results: Path) -> None:
        self._bootstrap = bootstrap
        self._results = results
        self.counts: dict[str, int] = dict.fromkeys(DUMPS, 0)
        self._stop = asyncio.Event()
        self.started = asyncio.Event()

    async def run(self) -> None:
        self._results.mkdir(parents=True, exist_ok=True)
        consumer = AIOKafkaConsumer(
            *DUMPS, bootstrap_servers=self._bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        await consumer.start()
        with ExitStack() as files:
            # Local result files of a demo run: blocking writes are fine here.
            outs = {
                t: files.enter_context(open(self._results / f, "wb"))  # noqa: ASYNC230
                for t, f in DUMPS.items()
            }
            try:
                while not self._stop.is_set():
                    batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                    self.started.set()
                    for tp, records in batches.items():
                        for record in records:
                            outs[tp.topic].write((record.value or b"") + b"\n")
                        self.counts[tp.topic] += len(records)
            finally:
                await consumer.stop()

    def stop(self) -> None:
        self._stop.set()


async def wait_until_drained(
    urls: list[str],
    *,
    quiet_seconds: float,
    timeout: float,  # noqa: ASYNC109  (a deadline over many polls, not one await)
    bootstrap: str | None = None,
) -> None:
    """Until every consumer of every service has found nothing new to read, and nothing
    has been received, for ``quiet_seconds`` (a long batch in flight is not idleness), and
    (with ``bootstrap``) every consumer group has committed up to the end of its topics:
    a consumer whose fetch is slow can look idle while records wait for it."""
    last: list[int] = []
    quiet_since = time.monotonic()
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            snapshot = [await _consumers(client, url) for url in urls]
            received = [n for counts, _, _ in snapshot for n in counts]
            idle = all(flag for _, flags, _ in snapshot for flag in flags)
            if received != last or not idle:
                last, quiet_since = received, time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_seconds:
                groups = {name: ts for _, _, found in snapshot for name, ts in found.items()}
                if bootstrap is None or await lag(bootstrap, groups) == 0:
                    return
                quiet_since = time.monotonic()
            await asyncio.sleep(0.25)
    raise TimeoutError(f"the services were still busy after {timeout:.0f}s")


async def lag(bootstrap: str, groups: dict[str, list[str]]) -> int:
    """Records not yet committed by their consumer group, over the groups' topics."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await reader.start()
    try:
        behind = 0
        for group, names in groups.items():
            partitions = [
                TopicPartition(t, p) for t in names for p in reader.partitions_for_topic(t) or ()
            ]
            if not partitions:
                continue
            ends = await reader.end_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
            for tp in partitions:
                done = committed.get(tp)
                behind += max(0, ends[tp] - (done.offset if done and done.offset >= 0 else 0))
        return behind
    finally:
        await reader.stop()
        await admin.close()


async def _consumers(
    client: httpx.AsyncClient, url: str
) -> tuple[list[int], list[bool], dict[str, list[str]]]:
    answer = await client.get(f"{url}/health")
    health = answer.json()
    consumers = health["consumers"]
    if answer.status_code == 503:  # a consumer stopped: waiting longer would be in vain
        errors = {name: c.get("last_error") for name, c in consumers.items()}
        raise RuntimeError(f"{health['service']}: {health['status']} ({errors})")
    values = consumers.values()
    return (
        [int(c["received"]) for c in values],
        [bool(c["idle"]) for c in values],
        {name: list(c["topics"]) for name, c in consumers.items()},
    )


async def import_registry(ingest_url: str, province: Path, as_of: date) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=ingest_url, timeout=600) as client:
        answer = await client.post(
            "/registry/import",
            params={"file": REGISTRY_FILE, "as_of": f"{as_of.isoformat()}T00:00:00+08:00"},
            content=(province / REGISTRY_FILE).read_bytes(),
        )
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result


async def install_model(scoring_url: str, model: Path) -> str:
    """Register a trained model with scoring and promote it to champion; its version."""
    blob = await asyncio.to_thread(model.read_bytes)
    async with httpx.AsyncClient(base_url=scoring_url, timeout=120) as client:
        answer = await client.post("/models", content=blob)
        answer.raise_for_status()
        version = str(answer.json()["version"])
        promoted = await client.post(f"/models/{version}/promote", params={"by": "demo"})
        promoted.raise_for_status()
    return version


@dataclass
class CountyRun:
    province: Path
    results: Path
    manifest: dict[str, Any]
    registry: dict[str, Any]
    published: int
    seconds_simulate: float
    seconds_pipeline: float
    dumped: dict[str, int]
    latency: dict[str, Any] = field(default_factory=dict)  # death record -> SUSPEND, wall


async def run_county(
    *,
    province: Path,
    results: Path,
    bootstrap: str,
    urls: dict[str, str],
    start: date,
    manifest: dict[str, Any],
    seconds_simulate: float,
    model: Path | None = None,
    decisions: dict[str, int] | None = None,
    pseudonymizer: Pseudonymizer | None = None,
) -> CountyRun:
    """Drive a simulated province through a running stack and dump what it decided.

    With ``model`` (trained beforehand on an earlier simulated period) scoring gets it as
    its champion and decides at every month end, before the sweep (R-7.5.2.3); the counts
    of its decisions are added up in ``decisions``."""
    totals = decisions if decisions is not None else {}
    dumper = Dumper(bootstrap, results)
    dumping = asyncio.create_task(dumper.run())
    try:
        await asyncio.wait_for(dumper.started.wait(), 60)
        started = time.monotonic()
        if model is not None:
            await install_model(urls["scoring"], model)
        registry = await import_registry(urls["ingest"], province, start)
        # The matcher must know every pensioner before their records arrive: evidence for
        # a person not (yet) in the registry is analysed as unmatched (R-7.5.1 c) and not
        # matched again later (a known gap: issue 5).
        deadline = time.monotonic() + 300
        while dumper.counts[topics.STATE_CHANGES] < registry["imported"]:
            if time.monotonic() > deadline:
                raise TimeoutError("the registry's first statuses did not all arrive")
            await asyncio.sleep(0.1)

        async def month_end(day: date) -> None:
            # Let the month's records through, then move everyone through time (the
            # daily sweep for each date of the month, R-6.3, R-6.4, R-7.9).
            await wait_until_drained(
                list(urls.values()), quiet_seconds=1.0, timeout=1800, bootstrap=bootstrap
            )
            async with httpx.AsyncClient(timeout=600) as client:
                if model is not None:
                    decided = await client.post(
                        f"{urls['scoring']}/decide", params={"through": day.isoformat()}
                    )
                    decided.raise_for_status()
                    for key in ("decided", "confirmed"):
                        totals[key] = totals.get(key, 0) + int(decided.json()[key])
                swept = await client.post(
                    f"{urls['matcher']}/sweep", params={"through": day.isoformat()}
                )
                swept.raise_for_status()

        arrivals = latency.DeathArrivals(pseudonymizer or LifesignSettings().pseudonymizer)
        published = await publish(
            bootstrap, province, month_end=month_end, on_sent=arrivals.observe
        )
        await wait_until_drained(
            list(urls.values()), quiet_seconds=2.0, timeout=1800, bootstrap=bootstrap
        )
        seconds = time.monotonic() - started
        delays = latency.summary(arrivals, await latency.suspend_times(bootstrap))
        (results / "processing_latency.json").write_text(json.dumps(delays, indent=2))
        await dump_quality_outcomes(urls, results)
        await asyncio.sleep(1.0)  # the dumper's last poll
    finally:
        dumper.stop()
        await dumping
    return CountyRun(
        province,
        results,
        manifest,
        registry,
        published,
        seconds_simulate,
        seconds,
        dumper.counts,
        delays,
    )


async def dump_quality_outcomes(urls: dict[str, str], results: Path) -> None:
    """What quality dropped or flagged and what the matcher holds for name review: the
    outcomes no topic carries (run quality's scheduled checks over the whole run first)."""
    async with httpx.AsyncClient(timeout=600) as client:
        (await client.post(f"{urls['quality']}/checks")).raise_for_status()
        for kind, name in (("duplicates", DUPLICATES_FILE), ("flagged", FLAGGED_FILE)):
            rows = await _paged(client, f"{urls['quality']}/outcomes/{kind}")
            _write_jsonl(results / name, rows)
        answer = await client.get(f"{urls['matcher']}/reviews", params={"limit": 100_000})
        answer.raise_for_status()
        _write_jsonl(results / REVIEWS_FILE, [{"event_id": r["event_id"]} for r in answer.json()])


async def _paged(client: httpx.AsyncClient, url: str, page: int = 10_000) -> list[Any]:
    rows: list[Any] = []
    while True:
        answer = await client.get(url, params={"after": len(rows), "limit": page})
        answer.raise_for_status()
        found = answer.json()
        rows += found
        if len(found) < page:
            return rows


def _write_jsonl(path: Path, rows: list[Any]) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
