"""Training data for scoring (R-7.5.2.2) from a simulated province, without leaking the future.

For each window end ``as_of`` (every ``step`` days) the population is everyone drawing a
benefit whose loss of eligibility the platform did not know yet (no death or prison record
reported by then), so the dead whose deaths nobody reported, or not yet, are in it, as a
running platform would see them. Their features use only what was *reported* by ``as_of``:
the auxiliary events (and direct ones the matcher could not match, R-7.5.1 c) the scoring
service would have received, and the last proof of life from direct evidence. The label is
the truth: alive at the end of ``as_of``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifesign.catalogue import CATALOGUE, EvidenceClass
from lifesign.events import InsuranceType
from lifesign_scoring.features import PROOF_METHODS, SOURCE_INDEX, Population, Trail, compute
from lifesign_scoring.learning import (
    Dataset,
    ScoringModel,
    Split,
    time_split,
    train,
    training_report,
)
from lifesign_sim.formats import MANIFEST_FILE, PERSONS_FILE, RECORDS_FILE, Expected, RecordKind

#: Records the platform never takes in (dead letters, quarantine, duplicates).
_DISCARDED = {Expected.REJECT.value, Expected.QUARANTINE.value, Expected.DROP_DUPLICATE.value}
_INSURANCE = {t.value: i for i, t in enumerate(InsuranceType)}
_NONE = -1


@dataclass(frozen=True)
class Persons:
    ids: dict[str, int]
    population: Population  # last_proof: the registry's last certification
    benefit_start: NDArray[np.int64]
    death: NDArray[np.int64]  # ordinal, or a far future when alive
    sex: NDArray[np.str_]
    urban: NDArray[np.str_]
    region: NDArray[np.str_]


@dataclass(frozen=True)
class Records:
    """Every record the platform takes in, as parallel arrays (days are ordinals)."""

    who: NDArray[np.int64]
    source: NDArray[np.int64]
    occurred: NDArray[np.int64]
    reported: NDArray[np.int64]
    auxiliary: NDArray[np.bool_]  # what reaches scoring
    lost: NDArray[np.bool_]  # death or prison: the person leaves the population
    proof_method: NDArray[np.int64]  # for direct proof of life, else -1
    impersonation: NDArray[np.bool_]


def load(province: Path) -> tuple[Persons, Records]:
    persons = _persons(province / PERSONS_FILE)
    return persons, _records(province / RECORDS_FILE, persons.ids)


def windows(
    persons: Persons, records: Records, *, start: date, end: date, step: int = 30
) -> Dataset:
    """Person-windows ending every ``step`` days from ``start + step`` to ``end``."""
    parts = []
    day = start + timedelta(days=step)
    while day <= end:
        parts.append(
            window(persons, records, as_of=day.toordinal(), history_start=start.toordinal())
        )
        day += timedelta(days=step)
    return concat(parts)


def window(persons: Persons, records: Records, *, as_of: int, history_start: int) -> Dataset:
    """The person-windows ending on ``as_of``: only what was reported by then is used."""
    known = records.reported <= as_of
    lost = np.zeros(len(persons.ids), dtype=bool)
    lost[records.who[known & records.lost]] = True
    scope = (persons.benefit_start <= as_of) & ~lost
    population = _with_proofs(persons.population, records, known)
    aux = known & records.auxiliary
    trail = Trail(
        records.who[aux],
        records.source[aux],
        records.occurred[aux],
        np.ones(int(aux.sum()), np.int64),
    )
    x = compute(population, trail, as_of, history_start)
    recent_fake = aux & records.impersonation & (records.occurred > as_of - 90)
    impersonated = np.zeros(len(persons.ids), dtype=bool)
    impersonated[records.who[recent_fake]] = True
    alive = persons.death > as_of
    age = (as_of - persons.population.birth) // 365
    groups = {
        "age_band": _age_bands(age),
        "sex": persons.sex,
        "rural_urban": persons.urban,
        "region": persons.region,
    }
    return Dataset(
        x[scope],
        alive[scope],
        np.full(int(scope.sum()), as_of, dtype=np.int64),
        (impersonated & ~alive)[scope],
        {k: v[scope] for k, v in groups.items()},
    )


def concat(parts: list[Dataset]) -> Dataset:
    return Dataset(
        np.concatenate([p.x for p in parts]),
        np.concatenate([p.alive for p in parts]),
        np.concatenate([p.as_of for p in parts]),
        np.concatenate([p.impersonated for p in parts]),
        {k: np.concatenate([p.groups[k] for p in parts]) for k in parts[0].groups},
    )


def _with_proofs(base: Population, records: Records, known: NDArray[np.bool_]) -> Population:
    """The last proof of life known by then: the registry's, or a later direct record."""
    proof = known & (records.proof_method >= 0)
    packed = base.last_proof * 16 + np.maximum(base.proof_method, 0)
    packed = np.where(base.last_proof >= 0, packed, _NONE)
    np.maximum.at(
        packed, records.who[proof], records.occurred[proof] * 16 + records.proof_method[proof]
    )
    has = packed >= 0
    return Population(
        base.birth,
        base.male,
        base.insurance,
        base.benefit_normal,
        np.where(has, packed // 16, _NONE),
        np.where(has, packed % 16, _NONE),
    )


def _persons(path: Path) -> Persons:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    far = date(9999, 1, 1).toordinal()
    manual = PROOF_METHODS.index("manual")

    def ordinal(text: str, default: int) -> int:
        return date.fromisoformat(text).toordinal() if text else default

    last = np.array([ordinal(r["last_certified_on"], _NONE) for r in rows], dtype=np.int64)
    population = Population(
        birth=np.array([ordinal(r["birth_date"], 0) for r in rows], dtype=np.int64),
        male=np.array([r["sex"] == "M" for r in rows], dtype=bool),
        insurance=np.array([_INSURANCE[r["insurance_type"]] for r in rows], dtype=np.int64),
        benefit_normal=np.ones(len(rows), dtype=bool),
        last_proof=last,
        # The registry does not say how the last certification was made.
        proof_method=np.where(last >= 0, manual, _NONE),
    )
    return Persons(
        ids={r["person_id"]: i for i, r in enumerate(rows)},
        population=population,
        benefit_start=np.array([ordinal(r["benefit_start"], 0) for r in rows], dtype=np.int64),
        death=np.array([ordinal(r["death_date"], far) for r in rows], dtype=np.int64),
        sex=np.array([r["sex"] for r in rows]),
        urban=np.array(["urban" if r["urban"] == "1" else "rural" for r in rows]),
        region=np.array([r["residence_region"][:4] for r in rows]),
    )


def _records(path: Path, ids: dict[str, int]) -> Records:
    evidence = {c: s.evidence for c, s in CATALOGUE.items()}
    method = {
        c: PROOF_METHODS.index(s.method.value) for c, s in CATALOGUE.items() if s.method is not None
    }
    who, source, occurred, reported, aux, lost, proof, fake = ([] for _ in range(8))
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            person = ids.get(row["person_id"])
            kind = evidence.get(row["source"])
            if person is None or kind is None or row["expected"] in _DISCARDED:
                continue
            unmatched = row["expected"] == Expected.UNMATCHED.value
            who.append(person)
            source.append(SOURCE_INDEX[row["source"]])
            occurred.append(date.fromisoformat(row["occurred_at"][:10]).toordinal())
            reported.append(date.fromisoformat(row["reported_at"][:10]).toordinal())
            aux.append(kind is EvidenceClass.AUXILIARY_ALIVE or unmatched)
            lost.append(kind is EvidenceClass.DIRECT_LOST and not unmatched)
            direct_alive = kind is EvidenceClass.DIRECT_ALIVE and not unmatched
            proof.append(method[row["source"]] if direct_alive else _NONE)
            fake.append(row["kind"] == RecordKind.IMPERSONATION.value)
    return Records(
        np.array(who, dtype=np.int64),
        np.array(source, dtype=np.int64),
        np.array(occurred, dtype=np.int64),
        np.array(reported, dtype=np.int64),
        np.array(aux, dtype=bool),
        np.array(lost, dtype=bool),
        np.array(proof, dtype=np.int64),
        np.array(fake, dtype=bool),
    )


def _age_bands(age: NDArray[np.int64]) -> NDArray[np.str_]:
    bands = np.array(["<60", "60-69", "70-79", "80-89", "90+"])
    return bands[np.clip((age - 50) // 10, 0, 4)]


def province_split(province: Path, *, step: int = 30) -> Split:
    """The province's person-windows split by time: the first half of the period for
    training, the next quarter for calibration and the threshold, the last for the test."""
    parameters = json.loads((province / MANIFEST_FILE).read_text())["parameters"]
    start, days = date.fromisoformat(parameters["start"]), int(parameters["days"])
    persons, records = load(province)
    end = start + timedelta(days=days - 1)
    data = windows(persons, records, start=start, end=end, step=step)
    validation_from = start + timedelta(days=days // 2)
    test_from = start + timedelta(days=(days * 3) // 4)
    return time_split(data, validation_from.toordinal(), test_from.toordinal())


def train_on_province(province: Path, *, version: str) -> tuple[ScoringModel, dict[str, Any]]:
    """Train, calibrate, choose the threshold and write the report (R-7.5.2.2)."""
    split = province_split(province)
    model = train(split, version=version)
    report = training_report(model, split)
    model.facts["metrics"] = report["test"]["xgboost"]
    return model, report
