"""Scoring's training data from a simulated province (R-7.5.2.2): the time split does not
leak, and the simulator's impersonation cases (冒领) are not certified.

The province is small, and unreported deaths and impersonation are made common so that the
cases are many; everything else is the simulator's default.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from lifesign_scoring.features import COLUMN
from lifesign_scoring.learning import MAX_DEAD_CERTIFIED, ScoringModel, time_split
from lifesign_sim import training
from lifesign_sim.simulate import SimulationConfig, run

START = date(2024, 1, 1)
WARNING_DAYS = 270  # validity is 12 months from the last proof, the warning its last 3
DAYS = 730


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scoring") / "province"
    config = SimulationConfig(persons=4000, start=START, days=DAYS, seed=11)
    # Impersonation only matters while the death is unreported (a funeral record ends it):
    # make both common so the test period holds many cases.
    life = replace(config.life, impersonation_share=0.6, unreported_death_share=0.5)
    config = replace(config, life=life)
    run(config, out)
    return out


@pytest.fixture(scope="module")
def trained(province: Path) -> tuple[ScoringModel, dict[str, object]]:
    return training.train_on_province(province, version="t")


def test_a_window_uses_only_what_was_reported_by_its_end(province: Path) -> None:
    """Moving every record reported after the window's end even later (or dropping it)
    changes nothing; a test that fails as soon as future records are read."""
    persons, records = training.load(province)
    as_of = (START + timedelta(days=300)).toordinal()
    history = START.toordinal()
    before = training.window(persons, records, as_of=as_of, history_start=history)
    future = records.reported > as_of
    assert future.any()
    shifted = replace(records, reported=np.where(future, records.reported + 1000, records.reported))
    kept = training.Records(*(getattr(records, f)[~future] for f in records.__dataclass_fields__))
    for variant in (shifted, kept):
        again = training.window(persons, variant, as_of=as_of, history_start=history)
        assert np.array_equal(before.x, again.x)
        assert np.array_equal(before.alive, again.alive)
    # and the records that were reported in time do matter
    none = training.Records(*(getattr(records, f)[:0] for f in records.__dataclass_fields__))
    empty = training.window(persons, none, as_of=as_of, history_start=history)
    assert not np.array_equal(
        before.x[:, COLUMN["n365_any"]], empty.x[:, COLUMN["n365_any"]][: len(before)]
    )


def test_the_split_trains_on_the_past_only(province: Path) -> None:
    persons, records = training.load(province)
    data = training.windows(persons, records, start=START, end=START + timedelta(days=DAYS - 1))
    split = time_split(
        data, (START + timedelta(days=365)).toordinal(), (START + timedelta(days=548)).toordinal()
    )
    assert split.train.as_of.max() < split.validation.as_of.min() <= split.validation.as_of.max()
    assert split.validation.as_of.max() < split.test.as_of.min()
    assert (~split.test.alive).any() and (~split.validation.alive).any()


def test_the_report_keeps_the_rule_and_certifies_no_impersonation(
    trained: tuple[ScoringModel, dict[str, object]], province: Path
) -> None:
    model, report = trained
    validation = report["validation"]
    assert isinstance(validation, dict)
    assert validation["dead_certified_rate"] <= MAX_DEAD_CERTIFIED
    test = report["test"]
    assert isinstance(test, dict)
    assert set(test) == {"xgboost", "logistic_regression", "any_event_90_days"}
    assert test["xgboost"]["impersonation_windows"] >= 10
    # Scoring decides only for the warning period: no proof of life for the last 9 months.
    # (A relative's bank-card password change is a direct proof the matcher folds itself;
    # such a window is not scoring's to decide.)
    held_out = training.province_split(province).test
    warning = held_out.impersonated & (held_out.x[:, COLUMN["days_since_proof"]] >= WARNING_DAYS)
    assert warning.sum() >= 10
    assert not model.decide(held_out.x[warning])[1].any()
    # the naive rule is fooled by the relative's card: that is what the test is about
    assert test["any_event_90_days"]["impersonation_certified"] > 0
    assert test["xgboost"]["auc"] > 0.8
    assert report["impersonation_cases"] and report["rules"] and report["fairness"]
