"""Features, threshold, calibration, impersonation guard and promotion rule (R-7.5.2, R-8.2.4).

The model here is trained on a small synthetic population whose behaviour stops at death,
so the tests are fast; the simulated-province tests are in simulator/tests/test_training.py.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from lifesign_scoring.features import (
    COLUMN,
    FEATURES,
    NEVER,
    SOURCE_INDEX,
    Population,
    Trail,
    compute,
)
from lifesign_scoring.learning import (
    Dataset,
    ScoringModel,
    Split,
    challenger_wins,
    choose_threshold,
    fakeable_only,
    load_model,
    rates,
    time_split,
    train,
)
from lifesign_scoring.rules import Rule, RuleModel, approve, learn_rules

DAY = date(2026, 6, 30).toordinal()
START = DAY - 400


def population(n: int) -> Population:
    return Population(
        birth=np.full(n, date(1950, 1, 1).toordinal(), dtype=np.int64),
        male=np.zeros(n, dtype=bool),
        insurance=np.zeros(n, dtype=np.int64),
        benefit_normal=np.ones(n, dtype=bool),
        last_proof=np.full(n, DAY - 300, dtype=np.int64),
        proof_method=np.zeros(n, dtype=np.int64),
    )


def trail(*events: tuple[int, str, int]) -> Trail:
    """(person, source, days before DAY)."""
    return Trail(
        np.array([e[0] for e in events], dtype=np.int64),
        np.array([SOURCE_INDEX[e[1]] for e in events], dtype=np.int64),
        np.array([DAY - e[2] for e in events], dtype=np.int64),
        np.ones(len(events), dtype=np.int64),
    )


def test_windows_count_groups_and_days_since_r_7_5_2_1() -> None:
    x = compute(
        population(2),
        trail(
            (0, "outpatient_settlement", 10),
            (0, "outpatient_settlement", 100),
            (0, "mobile_payment", 40),
            (0, "website_login", 200),
        ),
        DAY,
        START,
    )
    row = dict(zip(FEATURES, x[0].tolist(), strict=True))
    assert (row["n30_care"], row["n90_care"], row["n365_care"]) == (1, 1, 2)
    assert (row["n30_card"], row["n90_card"], row["n90_any"], row["n365_any"]) == (0, 1, 2, 4)
    assert row["days_since_care"] == 10 and row["days_since_contact"] == 200
    assert row["kinds_90"] == 2 and row["kinds_365"] == 3
    assert row["days_since_proof"] == 300
    assert x[1, COLUMN["days_since_any"]] == NEVER and x[1, COLUMN["n365_any"]] == 0


def test_no_future_event_changes_a_window_r_7_5_2_2() -> None:
    """Events after the window's end must not leak into its features."""
    past = trail((0, "outpatient_settlement", 10), (1, "mobile_payment", 5))
    future = trail((0, "outpatient_settlement", 10), (1, "mobile_payment", 5),
                   (0, "website_login", -1), (1, "outpatient_settlement", -30))  # fmt: skip
    before = compute(population(2), past, DAY, START)
    assert np.array_equal(before, compute(population(2), future, DAY, START))


def test_time_split_never_mixes_periods() -> None:
    as_of = np.arange(100, 200, dtype=np.int64)
    data = Dataset(np.zeros((100, len(FEATURES)), np.float32), np.ones(100, bool), as_of)
    split = time_split(data, 140, 170)
    assert split.train.as_of.max() < split.validation.as_of.min()
    assert split.validation.as_of.max() < split.test.as_of.min()
    assert len(split.train) + len(split.validation) + len(split.test) == 100
    with pytest.raises(ValueError, match="before the test"):
        time_split(data, 170, 140)


def test_threshold_keeps_dead_certified_within_the_share() -> None:
    rng = np.random.default_rng(0)
    alive = rng.random(20_000) > 0.1  # about 2,000 dead: 0.1% allows 2
    p = np.where(alive, rng.beta(8, 2, alive.size), rng.beta(2, 8, alive.size))
    threshold = choose_threshold(p, alive, 0.001)
    dead_certified = int(((p >= threshold) & ~alive).sum())
    assert dead_certified <= 0.001 * (~alive).sum()
    # the lowest such threshold: one step lower certifies one dead person more
    lower = np.sort(p[~alive])[::-1][dead_certified]
    assert int(((p >= lower) & ~alive).sum()) > 0.001 * (~alive).sum()


def test_threshold_with_few_dead_certifies_no_dead_and_none_without_dead() -> None:
    p = np.array([0.2, 0.9, 0.95, 0.99])
    alive = np.array([True, False, True, True])
    assert choose_threshold(p, alive, 0.001) > 0.9
    assert choose_threshold(p, np.ones(4, dtype=bool), 0.001) == 1.0


def synthetic(n: int, seed: int, as_of: int) -> Dataset:
    """People whose behaviour stops at death; a relative keeps paying with the card of
    some of the dead."""
    rng = np.random.default_rng(seed)
    alive = rng.random(n) > 0.05
    impersonated = ~alive & (rng.random(n) < 0.3)
    events: list[tuple[int, str, int]] = []
    for i in range(n):
        silent_since = 0 if alive[i] else int(rng.integers(20, 300))
        for source in ("outpatient_settlement", "website_login", "mobile_payment"):
            for ago in rng.integers(0, 365, size=rng.poisson(4)):
                if ago >= silent_since:
                    events.append((i, source, int(ago)))
        if impersonated[i]:
            events += [(i, "mobile_payment", int(a)) for a in rng.integers(0, 60, size=3)]
    x = compute(population(n), trail(*events), DAY, START)
    return Dataset(x, alive, np.full(n, as_of, dtype=np.int64), impersonated)


@pytest.fixture(scope="module")
def model() -> ScoringModel:
    split = Split(synthetic(3000, 1, 1), synthetic(2000, 2, 2), synthetic(2000, 3, 3))
    return train(split, version="test-model", rounds=30)


def test_calibrated_model_keeps_the_threshold_rule_on_validation(model: ScoringModel) -> None:
    validation = synthetic(2000, 2, 2)
    p, certified = model.decide(validation.x)
    assert ((p >= 0) & (p <= 1)).all()
    assert int((certified & ~validation.alive).sum()) <= 0.001 * (~validation.alive).sum()
    test = synthetic(2000, 3, 3)
    result = rates(*model.decide(test.x), test)
    assert result["auc"] > 0.8 and result["living_certified_share"] > 0.2


def test_impersonation_alone_is_never_certified(model: ScoringModel) -> None:
    """Card payments only (what a relative keeps doing) never certify, whatever the score."""
    x = compute(
        population(1), trail(*((0, "mobile_payment", a) for a in range(0, 90, 3))), DAY, START
    )
    assert fakeable_only(x).all()
    assert not model.decide(x)[1].any()
    test = synthetic(2000, 3, 3)
    assert test.impersonated.any()
    assert not model.decide(test.x[test.impersonated])[1].any()


def test_every_decision_carries_its_top_contributions(model: ScoringModel) -> None:
    test = synthetic(200, 3, 3)
    explained = model.contributions(test.x)
    assert len(explained) == 200
    assert all(len(top) == 3 and all(f in FEATURES for f, _, _ in top) for top in explained)


def test_model_round_trips_through_bytes(model: ScoringModel) -> None:
    again = ScoringModel.from_bytes(model.to_bytes())
    x = synthetic(100, 4, 4).x
    assert again.version == model.version and again.threshold == model.threshold
    assert np.allclose(again.probability(x), model.probability(x))


def test_challenger_not_promoted_when_worse_r_8_2_4() -> None:
    champion = {"auc": 0.90, "dead_certified_rate": 0.0, "living_certified_share": 0.30}
    more_dead = {"auc": 0.95, "dead_certified_rate": 0.002, "living_certified_share": 0.60}
    fewer_living = {"auc": 0.92, "dead_certified_rate": 0.0, "living_certified_share": 0.25}
    better = {"auc": 0.91, "dead_certified_rate": 0.0, "living_certified_share": 0.35}
    assert not challenger_wins(more_dead, champion)
    assert not challenger_wins(fewer_living, champion)
    assert not challenger_wins(champion, champion)
    assert challenger_wins(better, champion)


def test_rules_for_staff_with_support_and_precision_r_8_2_4() -> None:
    train_part, test_part = synthetic(2000, 5, 1), synthetic(1000, 6, 2)
    rules = learn_rules(train_part, test_part)
    assert rules and sum(r.support for r in rules) == len(test_part)  # leaves partition
    for rule in rules:
        hit = rule.matches(test_part.x)
        right = test_part.alive[hit] if rule.alive else ~test_part.alive[hit]
        assert rule.support == int(hit.sum())
        if rule.support:
            assert rule.precision == pytest.approx(float(right.mean()), abs=1e-5)


def test_approved_rules_apply_as_a_rule_model_r_8_2_4() -> None:
    train_part, test_part = synthetic(2000, 5, 1), synthetic(1000, 6, 2)
    report_rules = [r.as_dict() for r in learn_rules(train_part, test_part)]
    alive_rule = next(r for r in report_rules if r["then"] == "alive")
    model = approve(report_rules, [alive_rule["id"]], version="rules-1", by="staff")
    again = RuleModel.from_bytes(model.to_bytes())
    _, certified = again.decide(test_part.x)
    matched = Rule.from_dict(alive_rule).matches(test_part.x)
    assert np.array_equal(certified, matched & ~fakeable_only(test_part.x))
    explained = again.contributions(test_part.x)
    assert all(explained[i] for i in np.nonzero(certified)[0])
    assert isinstance(load_model(model.to_bytes()), RuleModel)
    not_alive = next((r for r in report_rules if r["then"] != "alive"), None)
    if not_alive is not None:
        with pytest.raises(ValueError, match="only rules that say alive"):
            approve(report_rules, [not_alive["id"]], version="x", by="staff")
    with pytest.raises(ValueError, match="no such rules"):
        approve(report_rules, ["rule-999"], version="x", by="staff")
