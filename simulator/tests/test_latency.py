"""The demo's processing latency (issue 5): death record published -> SUSPEND."""

from __future__ import annotations

from datetime import date

import orjson
import pytest

from lifesign.identity import Pseudonymizer, make_id_number
from lifesign_sim.latency import DeathArrivals, summary

KEY = b"k" * 32
ID = make_id_number("410102", date(1940, 1, 1), 11)


def record(id_number: str, **attributes: str) -> bytes:
    return orjson.dumps({"id_number": id_number, "name": "王五", "attributes": attributes})


def test_only_death_records_count_and_the_first_one_wins() -> None:
    arrivals = DeathArrivals(Pseudonymizer(KEY))
    arrivals.observe("feed.transit_trip.v1", record(ID))
    assert arrivals.first == {}
    arrivals.observe("feed.household_cancellation.v1", record(ID, cancellation_reason="abroad"))
    assert arrivals.first == {}  # settling abroad is no death
    arrivals.observe("feed.funeral_cremation.v1", record(ID.lower()))  # normalised
    first = dict(arrivals.first)
    arrivals.observe("feed.medical_death_certificate.v1", record(ID))
    assert arrivals.first == first and list(first) == [Pseudonymizer(KEY).person(ID)]
    arrivals.observe("feed.funeral_cremation.v1", b"not json")  # defective: ignored


def test_the_delay_is_to_the_first_suspend_after_the_record() -> None:
    arrivals = DeathArrivals(Pseudonymizer(KEY), first={"a": 100.0, "b": 200.0, "c": 300.0})
    suspends = {"a": [50.0, 100.4, 130.0], "b": [260.0], "x": [1.0]}  # a: lapsed earlier
    result = summary(arrivals, suspends)
    assert result["deaths_published"] == 3 and result["suspended"] == 2
    assert result["seconds_p50"] == pytest.approx((0.4 + 60.0) / 2)
    assert result["seconds_max"] == 60.0
