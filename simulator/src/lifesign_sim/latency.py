"""Processing latency of the demo: from a death record's publication to its SUSPEND.

Issue 5 asks that the median delay from a death record's arrival to the SUSPEND command be
under a minute of processing. The simulated dates cannot show that (a whole year runs in
minutes), so this measures wall-clock time: when the demo's publisher handed the first
death record of a person to the broker, and the broker timestamp (the payments bridge's
create time) of the first SUSPEND for that person at or after it.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from lifesign import topics
from lifesign.catalogue import CATALOGUE, EvidenceClass, LossKind
from lifesign.identity import InvalidIdNumber, Pseudonymizer, normalize_id_number

#: Feed topics whose records report a death (R-7.4.2).
DEATH_TOPICS = frozenset(
    s.feed_topic
    for s in CATALOGUE.values()
    if s.evidence is EvidenceClass.DIRECT_LOST and (s.loss_kind or LossKind.DEATH) is LossKind.DEATH
)


@dataclass
class DeathArrivals:
    """The wall-clock time each person's first death record was published."""

    pseudonymizer: Pseudonymizer
    first: dict[str, float] = field(default_factory=dict)

    def observe(self, topic: str, value: bytes) -> None:
        """Call as each feed record is sent; only death records are kept (cheap otherwise)."""
        if topic not in DEATH_TOPICS:
            return
        try:
            record = orjson.loads(value)
            reason = (record.get("attributes") or {}).get("cancellation_reason", "death")
            if reason not in ("death", "declared_dead"):
                return  # a household cancelled for another reason is no death report
            person = self.pseudonymizer.person(normalize_id_number(str(record["id_number"])))
        except (orjson.JSONDecodeError, KeyError, InvalidIdNumber, TypeError):
            return  # a defective record: quality rejects it, no SUSPEND is expected from it
        self.first.setdefault(person, time.time())


async def suspend_times(bootstrap: str) -> dict[str, list[float]]:
    """Broker timestamps (seconds) of every SUSPEND command, per pseudonym."""
    consumer = AIOKafkaConsumer(
        topics.PAYMENTS_COMMANDS,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: dict[str, list[float]] = {}
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if not batches:
                return found
            for record in (r for part in batches.values() for r in part):
                command = orjson.loads(record.value or b"{}")
                if command.get("kind") == "suspend":
                    found.setdefault(command["pseudonym"], []).append(record.timestamp / 1000)
    finally:
        await consumer.stop()


def summary(arrivals: DeathArrivals, suspends: dict[str, list[float]]) -> dict[str, Any]:
    """Seconds from each death record's publication to the first SUSPEND at or after it
    (a second of clock tolerance between the two processes)."""
    delays = []
    for person, published in arrivals.first.items():
        after = [t for t in suspends.get(person, ()) if t >= published - 1.0]
        if after:
            delays.append(max(0.0, min(after) - published))
    if not delays:
        return {"deaths_published": len(arrivals.first), "suspended": 0}
    ordered = sorted(delays)
    return {
        "deaths_published": len(arrivals.first),
        "suspended": len(delays),
        "seconds_p50": statistics.median(ordered),
        "seconds_p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "seconds_max": ordered[-1],
    }
