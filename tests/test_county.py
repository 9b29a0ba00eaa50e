"""A small simulated county through real processes, Kafka and PostgreSQL, judged against
its ground truth (issue 3's demo, in miniature): no living pensioner suspended while their
direct evidence was in the feeds; every death reported by a clean record suspended."""

from __future__ import annotations

import asyncio
import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from lifesign.runtime import SERVICES, stack
from lifesign.settings import LifesignSettings
from lifesign_sim.county import run_county
from lifesign_sim.evaluate import evaluate
from lifesign_sim.formats import PERSONS_FILE, RECORDS_FILE
from lifesign_sim.simulate import SimulationConfig, run

pytestmark = pytest.mark.e2e

START = date(2025, 1, 1)
DAYS = 150


def deaths_reported_cleanly(province: Path) -> set[str]:
    with open(province / PERSONS_FILE, encoding="utf-8") as f:
        dead = {r["person_id"] for r in csv.DictReader(f) if r["death_date"]}
    with open(province / RECORDS_FILE, encoding="utf-8") as f:
        return {
            r["person_id"]
            for r in csv.DictReader(f)
            if r["person_id"] in dead
            and r["source"]
            in ("funeral_cremation", "medical_death_certificate", "household_cancellation")
            and r["defect"]
            in ("", "late_batch", "silent_source", "full_width", "id_15_digit", "traditional_name")
        }


def test_a_simulated_county_through_the_services(
    own_kafka: str, own_database: str, tmp_path: Path
) -> None:
    province, results = tmp_path / "province", tmp_path / "results"
    manifest = run(
        SimulationConfig(persons=600, start=START, days=DAYS, seed=5, chunk_size=300), province
    )
    with stack(
        var_dir=tmp_path,
        kafka_bootstrap=own_kafka,
        database_url=own_database,
        extra_env={"LIFESIGN_SWEEP_INTERVAL_S": "0"},  # the test drives the sweep
    ) as s:
        urls = {name: s.supervisor.url(name) for name in SERVICES}
        outcome = asyncio.run(
            run_county(
                province=province, results=results, bootstrap=s.kafka_bootstrap, urls=urls,
                start=START, manifest=manifest, seconds_simulate=0.0,
            )
        )  # fmt: skip
    assert outcome.registry["imported"] == 600
    metrics = evaluate(
        province,
        results,
        pseudonymizer=LifesignSettings().pseudonymizer,
        start=START,
        end=START + timedelta(days=DAYS - 1),
    )
    assert metrics["living_wrongly_suspended"] == 0
    assert metrics["deaths"] >= 3
    # Every death a department reported cleanly ends lost (R-7.5.1 b); a pensioner already
    # suspended for want of certification is not suspended twice.
    assert metrics["confusion_final"]["dead"]["lost"] >= len(deaths_reported_cleanly(province))
    assert metrics["deaths_suspended"] >= 1
    assert metrics["defect_recall"]["wrong_check_digit"] in (None, 1.0)
    assert metrics["defect_recall"]["malformed_json"] in (None, 1.0)
    assert metrics["clean_records_quarantined_share"] <= 0.001
