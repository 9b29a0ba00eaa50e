"""The simulator: deterministic, valid identities, mortality as the table says, every
defect at its rate and labelled (issue 3's done-when)."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from lifesign.events import FeedRecord
from lifesign.identity import InvalidIdNumber, normalize_id_number
from lifesign_sim.formats import (
    FEEDS_DIR,
    MANIFEST_FILE,
    PERSONS_FILE,
    RECORDS_FILE,
    REGISTRY_FILE,
    Defect,
    Expected,
)
from lifesign_sim.lives import LifeConfig, simulate_lives
from lifesign_sim.mortality import annual_q
from lifesign_sim.population import generate_chunk
from lifesign_sim.records import DEATH_SOURCES
from lifesign_sim.simulate import SimulationConfig, run

START = date(2025, 1, 1)


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("province") / "out"
    run(SimulationConfig(persons=4000, start=START, days=365, seed=7, chunk_size=1000), out)
    return out


def records(province: Path) -> list[dict[str, str]]:
    with open(province / RECORDS_FILE, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def feed_lines(province: Path) -> dict[str, bytes]:
    """record id -> the line as published (the last one, for duplicates)."""
    lines: dict[str, bytes] = {}
    for path in (province / FEEDS_DIR).glob("*.jsonl"):
        for line in path.read_bytes().splitlines():
            try:
                lines[json.loads(line)["record_id"]] = line
            except ValueError:
                continue  # malformed on purpose
    return lines


def test_same_seed_same_bytes_whatever_the_workers(tmp_path: Path) -> None:
    small = {"persons": 1500, "start": START, "days": 60, "seed": 3, "chunk_size": 400}
    run(SimulationConfig(**small, workers=2), tmp_path / "a")  # type: ignore[arg-type]
    run(SimulationConfig(**small, workers=1), tmp_path / "b")  # type: ignore[arg-type]
    run(SimulationConfig(**{**small, "seed": 4}, workers=2), tmp_path / "c")  # type: ignore[arg-type]
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a") != digest(tmp_path / "c")


def test_output_files_and_manifest(province: Path) -> None:
    manifest = json.loads((province / MANIFEST_FILE).read_text())
    assert manifest["persons"] == 4000
    assert manifest["records"] == len(records(province))
    assert (province / REGISTRY_FILE).read_text().count("\n") == 4001
    assert (province / PERSONS_FILE).read_text().count("\n") == 4001
    assert not (province / ".work").exists()


def test_feeds_are_in_publication_order(province: Path) -> None:
    for path in (province / FEEDS_DIR).glob("*.jsonl"):
        times = []
        for line in path.read_bytes().splitlines():
            try:
                times.append(json.loads(line)["reported_at"])
            except (ValueError, KeyError):
                continue
        assert times == sorted(times), path.name


def test_every_registry_id_validates(province: Path) -> None:
    with open(province / REGISTRY_FILE, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        assert normalize_id_number(row["id_number"], today=START) == row["id_number"]


def test_clean_records_are_valid_department_records(province: Path) -> None:
    lines = feed_lines(province)
    clean = [r for r in records(province) if r["defect"] == "" and r["kind"] != "noise"]
    assert len(clean) > 10_000
    for row in clean[:5000]:
        record = FeedRecord.model_validate_json(lines[row["record_id"]])
        assert normalize_id_number(record.id_number, today=date(2026, 1, 1))


def test_deaths_follow_the_mortality_table_within_sampling_error() -> None:
    people = generate_chunk(11, 0, chunk_size=60_000, total=60_000, start=START, days=365)
    config = LifeConfig()
    lives = simulate_lives(people, np.random.default_rng(5), START, 365, config)
    ages = np.array(
        [
            START.year
            - p.birth_date.year
            - ((START.month, START.day) < (p.birth_date.month, p.birth_date.day))
            for p in people
        ]
    )
    male = np.array([p.sex == "M" for p in people])
    expected_p = annual_q(ages, male, config.mortality_scale)
    died = np.array([life.death_date is not None for life in lives])
    for low, high in ((60, 70), (70, 80), (80, 90), (90, 120)):
        band = (ages >= low) & (ages < high)
        expected = float(expected_p[band].sum())
        observed = int(died[band].sum())
        assert expected > 20, (low, expected)
        assert abs(observed - expected) < 4 * math.sqrt(expected), (low, observed, expected)


def test_every_defect_appears_near_its_rate_and_is_labelled(province: Path) -> None:
    rows = records(province)
    manifest = json.loads((province / MANIFEST_FILE).read_text())
    rates = manifest["parameters"]["defects"]
    by_defect = Counter(r["defect"] for r in rows)
    base = sum(1 for r in rows if r["kind"] != "noise")
    universal = [
        Defect.WRONG_CHECK_DIGIT, Defect.ID_15_DIGIT, Defect.FULL_WIDTH, Defect.EXACT_DUPLICATE,
        Defect.NEAR_DUPLICATE, Defect.FUTURE_TIMESTAMP, Defect.ABSURD_TIMESTAMP,
        Defect.MALFORMED_JSON, Defect.UNKNOWN_SOURCE, Defect.MISSING_KEY_FIELD,
    ]  # fmt: skip
    for defect in universal:
        expected = rates[defect.value] * base
        assert abs(by_defect[defect.value] - expected) < 5 * math.sqrt(expected) + 2, defect
    for defect in Defect:
        assert by_defect[defect.value] > 0, f"{defect} never appears"


def test_defective_lines_are_defective_as_labelled(province: Path) -> None:
    rows = records(province)
    raw: dict[str, list[bytes]] = {}
    for path in (province / FEEDS_DIR).glob("*.jsonl"):
        for line in path.read_bytes().splitlines():
            try:
                raw.setdefault(json.loads(line)["record_id"], []).append(line)
            except ValueError:
                raw.setdefault("malformed", []).append(line)
    for row in rows:
        defect, rid = row["defect"], row["record_id"]
        if defect == Defect.MALFORMED_JSON:
            continue
        line = raw[rid][-1]
        record = json.loads(line)
        if defect == Defect.WRONG_CHECK_DIGIT:
            with pytest.raises(InvalidIdNumber):
                normalize_id_number(record["id_number"], today=date(2026, 1, 1))
        elif defect == Defect.ID_15_DIGIT:
            assert len(record["id_number"]) == 15
        elif defect == Defect.FULL_WIDTH:
            assert any("０" <= c <= "９" for c in record["id_number"])
        elif defect == Defect.DEATH_NAME_MISMATCH:
            assert row["source"] in DEATH_SOURCES
        elif defect == Defect.EXACT_DUPLICATE:
            assert len(raw[rid]) == 2 and raw[rid][0] == raw[rid][1]
        elif defect == Defect.FUTURE_TIMESTAMP:
            assert record["occurred_at"] > record["reported_at"]
        elif defect == Defect.ABSURD_TIMESTAMP:
            assert record["occurred_at"] < "1900"
        elif defect == Defect.UNKNOWN_SOURCE:
            assert row["source"] in ("street_lamp_sensor", "private_gym_checkin")
    assert len(raw["malformed"]) == sum(1 for r in rows if r["defect"] == Defect.MALFORMED_JSON)
    expected = {r["expected"] for r in rows}
    assert {Expected.ACCEPT, Expected.REJECT, Expected.QUARANTINE, Expected.REPAIR} <= expected


def test_deaths_are_reported_after_they_happen_and_impersonation_follows_death(
    province: Path,
) -> None:
    with open(province / PERSONS_FILE, encoding="utf-8") as f:
        persons = {r["person_id"]: r for r in csv.DictReader(f)}
    rows = records(province)
    for row in rows:
        person = persons.get(row["person_id"])
        if person is None or not person["death_date"]:
            continue
        death = person["death_date"]
        if row["source"] in DEATH_SOURCES and row["defect"] not in (
            "future_timestamp",
            "absurd_timestamp",
        ):
            assert row["reported_at"][:10] >= death
        if row["kind"] == "genuine" and row["source"] not in DEATH_SOURCES and not row["defect"]:
            assert (
                row["occurred_at"][:10]
                <= (date.fromisoformat(death) + timedelta(days=1)).isoformat()
            )
        if row["kind"] == "impersonation":
            assert row["occurred_at"][:10] > death
    assert any(r["kind"] == "impersonation" for r in rows)


def test_a_death_counts_as_reported_only_when_a_record_of_it_is_published(
    province: Path,
) -> None:
    """The truth's death_reported means a death record is in the feeds: a report due after
    the period (a household cancellation months later) is not, and the evaluation must not
    count its death as missed."""
    with open(province / PERSONS_FILE, encoding="utf-8") as f:
        persons = list(csv.DictReader(f))
    published = {r["person_id"] for r in records(province) if r["source"] in DEATH_SOURCES}
    dead = [p for p in persons if p["death_date"]]
    reported = {p["person_id"] for p in dead if p["death_reported"] == "1"}
    assert reported and reported <= published
    # Every dead person of whom a genuine death record was published is reported.
    assert {p["person_id"] for p in dead} & published <= reported


def test_moves_leave_an_address_change_at_the_new_residence(province: Path) -> None:
    with open(province / PERSONS_FILE, encoding="utf-8") as f:
        moved = {r["person_id"]: r for r in csv.DictReader(f) if r["moved_on"]}
    assert 40 <= len(moved) <= 140  # 2% a year of 4,000
    lines = feed_lines(province)
    changes = [
        r
        for r in records(province)
        if r["source"] == "pensioner_change" and "-M" in r["record_id"] and r["person_id"] in moved
    ]
    assert changes
    for row in changes:
        if row["defect"] or row["record_id"] not in lines:
            continue
        record = json.loads(lines[row["record_id"]])
        assert record["attributes"]["change_type"] == "address"
        assert record["region"] == moved[row["person_id"]]["moved_to"]


def test_the_demo_keys_each_record_by_its_person(province: Path) -> None:
    """A department keys its records by person (``county.feed_lines``): a near duplicate
    shares its original's key, so it cannot overtake it across partitions; a record cut
    short before its id number falls back to its record id."""
    from lifesign_sim.county import feed_lines as published
    from lifesign_sim.county import person_key

    assert person_key(b'{"reported_at":"2025-01-01T00:00:00","record_id":"x","id_ty') is None

    truth = {r["record_id"]: r for r in records(province)}
    keys: dict[str, set[bytes]] = {}
    by_record: dict[str, bytes] = {}
    for line in published(province):
        rid = json.loads(line.value)["record_id"] if line.value.endswith(b"}") else None
        if rid is None:
            continue  # malformed on purpose
        by_record[rid] = line.key
        if truth[rid]["defect"] in ("", Defect.NEAR_DUPLICATE.value, Defect.LATE_BATCH.value):
            keys.setdefault(truth[rid]["person_id"], set()).add(line.key)
    assert keys and all(len(k) == 1 for k in keys.values())
    assert len({next(iter(k)) for k in keys.values()}) == len(keys)  # persons apart
    copies = [rid for rid, r in truth.items() if r["defect"] == Defect.NEAR_DUPLICATE.value]
    assert copies
    for rid in copies:
        assert by_record[rid] == by_record[rid.removesuffix("-R")]
        assert rid.encode() not in by_record[rid]  # not the record id
