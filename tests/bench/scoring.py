"""``make bench`` (scoring, issue 6): batch scoring rate and training time on 1,000,000
person-windows.

A province of ``BENCH_SCORING_PERSONS`` (10,000) pensioners is simulated over two years and
cut into person-windows every 5 days; the earliest 80% (about 1,100,000) are trained on.
Printed, medians of ``RUNS`` runs:

* ``scoring_pensioners_per_second``: features, calibrated probability and decision for a
  population of 200,000 (target >= 100,000/s); ``scoring_explained_pensioners_per_second``
  adds the top-3 contributions for every one (``approx_contribs``); the ceiling beside
  them: the booster's bare ``inplace_predict`` on the same matrix;
* ``train_1m_person_windows_seconds``: :func:`train` on the person-windows (target <= 120 s;
  one run: it is the long one), beside the booster's bare training time.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import xgboost as xgb

from lifesign_scoring.features import FEATURES, HORIZON, Population, Trail, compute
from lifesign_scoring.learning import PARAMS, ROUNDS, Split, time_split, train
from lifesign_sim import training
from lifesign_sim.simulate import SimulationConfig, run

RUNS = 3
START = date(2023, 1, 1)


def main() -> None:
    persons = int(os.environ.get("BENCH_SCORING_PERSONS", "10000"))
    with tempfile.TemporaryDirectory() as tmp:
        province = Path(tmp) / "province"
        run(SimulationConfig(persons=persons, start=START, days=730, seed=7), province)
        people, records = training.load(province)
        data = training.windows(
            people, records, start=START, end=START + timedelta(days=729), step=5
        )
    # 80% of the windows (the earliest) to train on: a little over 1,000,000 at 10,000 people.
    split = time_split(
        data, (START + timedelta(days=584)).toordinal(), (START + timedelta(days=657)).toordinal()
    )
    print(f"BENCH scoring_train_person_windows {len(split.train)} rows")
    model = bench_training(split)
    bench_scoring(model, people.population, records, data.as_of.max())


def bench_training(split: Split) -> object:
    began = time.perf_counter()
    model = train(split, version="bench")
    seconds = time.perf_counter() - began
    matrix = xgb.DMatrix(split.train.x, label=split.train.alive)
    began = time.perf_counter()
    xgb.train(PARAMS, matrix, num_boost_round=ROUNDS)
    bare = time.perf_counter() - began
    print(f"BENCH train_1m_person_windows_seconds {seconds:.1f} s")
    print(f"BENCH train_bare_booster_seconds {bare:.1f} s")
    return model


def bench_scoring(
    model: object, population: Population, records: training.Records, as_of: int
) -> None:
    from lifesign_scoring.learning import ScoringModel

    assert isinstance(model, ScoringModel)
    # 200,000 pensioners: the simulated population repeated, with its behaviour.
    copies = max(1, 200_000 // population.size)
    n = population.size * copies
    big = Population(
        *(np.tile(getattr(population, f), copies) for f in population.__dataclass_fields__)
    )
    # What the service loads for a decision: the last 365 days of behaviour known by then.
    recent = (records.occurred <= as_of) & (records.occurred > as_of - HORIZON)
    aux = records.auxiliary & (records.reported <= as_of) & recent
    offsets = np.repeat(np.arange(copies, dtype=np.int64) * population.size, int(aux.sum()))
    trail = Trail(
        np.tile(records.who[aux], copies) + offsets,
        np.tile(records.source[aux], copies),
        np.tile(records.occurred[aux], copies),
        np.ones(int(aux.sum()) * copies, dtype=np.int64),
    )
    rates, explained, ceilings = [], [], []
    for _ in range(RUNS):
        began = time.perf_counter()
        x = compute(big, trail, int(as_of), START.toordinal())
        model.decide(x)
        decided = time.perf_counter() - began
        rates.append(n / decided)
        began = time.perf_counter()
        model.contributions(x)
        explained.append(n / (decided + time.perf_counter() - began))
        began = time.perf_counter()
        model.booster.inplace_predict(x)
        ceilings.append(n / (time.perf_counter() - began))
    assert x.shape[1] == len(FEATURES)
    # features + calibrated probability + decision, for the whole population
    print(f"BENCH scoring_pensioners_per_second {statistics.median(rates):.0f} pensioners/s")
    # the same plus the top-3 contributions of every one (a decision carries them)
    print(
        f"BENCH scoring_explained_pensioners_per_second {statistics.median(explained):.0f} "
        "pensioners/s"
    )
    print(f"BENCH scoring_bare_predict_per_second {statistics.median(ceilings):.0f} pensioners/s")


if __name__ == "__main__":
    main()
