"""Behaviour features over sliding windows (R-7.5.2.1), computed for a whole population.

One pure, vectorised function serves both sides: training builds the arrays from the
simulator's history, the service from its own tables (the daily behaviour counts kept
current as auxiliary events arrive, the registry and the last certification). Nothing after
``as_of`` is ever read: an event dated later is ignored here, and callers pass only the
events they knew by ``as_of`` (the time split of R-7.5.2.2 depends on it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifesign.catalogue import CATALOGUE, CertificationMethod
from lifesign.events import InsuranceType

SOURCES: tuple[str, ...] = tuple(CATALOGUE)
SOURCE_INDEX = {code: i for i, code in enumerate(SOURCES)}

#: Signals a relative keeps producing with the card or phone of someone who died (冒领): on
#: their own they must never be enough (issue 6). The simulator's impersonation uses these.
CARD = frozenset(
    {
        "social_security_card_transaction", "pharmacy_purchase", "transit_trip",
        "transit_topup", "transit_card_opening", "transit_card_reissue", "mobile_payment",
        "bank_card_password_change", "bank_card_reissue", "bank_card_loss_report",
        "bank_card_opening",
    }
)  # fmt: skip
#: Care the person must attend in person (medical-visit frequency and period, R-7.5.2.1).
CARE = frozenset(
    {
        "outpatient_settlement", "public_health_record", "inpatient_record",
        "inpatient_settlement", "long_term_care", "medical_benefit_application",
        "referral_emergency_application", "elderly_checkup_subsidy",
    }
)  # fmt: skip
#: Everything else: consultations, logins, identity checks, travel.
GROUPS = ("any", "card", "care", "contact")
_GROUP_OF = np.array(
    [1 if code in CARD else 2 if code in CARE else 3 for code in SOURCES], dtype=np.int64
)
#: Which sources make up each group (the first, "any", is all of them).
_MEMBERS = [np.ones(len(SOURCES), dtype=bool)] + [
    np.equal(_GROUP_OF, g) for g in range(1, len(GROUPS))
]
WINDOWS = (30, 90, 365)
HORIZON = max(WINDOWS)
#: Bumped whenever a feature's meaning changes: a model is only used with its own version.
FEATURE_VERSION = 2
#: Days-since value for "never seen" (beyond any window, so trees split it off cleanly).
NEVER = 999.0
PROOF_METHODS = tuple(m.value for m in CertificationMethod)
INSURANCE_TYPES = tuple(t.value for t in InsuranceType)

FEATURES: tuple[str, ...] = (
    "age",
    "male",
    *(f"insurance_{t}" for t in INSURANCE_TYPES),
    "benefit_normal",
    "history_days",
    "days_since_proof",
    *(f"proof_{m}" for m in PROOF_METHODS),
    *(f"n{w}_{g}" for g in GROUPS for w in WINDOWS),
    *(f"days_since_{g}" for g in GROUPS),
    "kinds_90",
    "kinds_365",
    "monthly_rate",
    "break_30",
    "silence_ratio",
)
COLUMN = {name: i for i, name in enumerate(FEATURES)}


@dataclass(frozen=True)
class Population:
    """Base attributes (R-7.2, R-7.5.2.1) and past certification, one entry per person.

    Dates are ``date.toordinal()`` values; ``last_proof`` is -1 when none is known and
    ``proof_method`` an index into :data:`PROOF_METHODS` (-1 for none).
    """

    birth: NDArray[np.int64]
    male: NDArray[np.bool_]
    insurance: NDArray[np.int64]
    benefit_normal: NDArray[np.bool_]
    last_proof: NDArray[np.int64]
    proof_method: NDArray[np.int64]

    @property
    def size(self) -> int:
        return int(self.birth.size)


@dataclass(frozen=True)
class Trail:
    """Behaviour: ``count`` events of ``source`` (index into :data:`SOURCES`) by person
    ``who`` (index into the population) on ``day`` (ordinal)."""

    who: NDArray[np.int64]
    source: NDArray[np.int64]
    day: NDArray[np.int64]
    count: NDArray[np.int64]

    def select(self, keep: NDArray[np.bool_]) -> Trail:
        return Trail(self.who[keep], self.source[keep], self.day[keep], self.count[keep])


def compute(
    population: Population, trail: Trail, as_of: int, history_start: int
) -> NDArray[np.float32]:
    """The feature matrix (rows: persons, columns: :data:`FEATURES`) at the end of day
    ``as_of``; the trail is observed from ``history_start``."""
    n = population.size
    x = np.zeros((n, len(FEATURES)), dtype=np.float32)
    _base(x, population, as_of, history_start)
    # Only the last HORIZON days count (what the service keeps at hand for a decision), so
    # training on long histories and serving from the recent trail see the same features.
    keep = (trail.day <= as_of) & (trail.day > as_of - HORIZON) & (trail.who >= 0) & (trail.who < n)
    known = trail if keep.all() else trail.select(keep)
    windows = _per_window(n, known, as_of)
    for i, w in enumerate(WINDOWS):
        for g, name in enumerate(GROUPS):
            x[:, COLUMN[f"n{w}_{name}"]] = windows[:, g, i]
    # The last day of each kind of behaviour gives both the days since each group and the
    # kinds seen in a window (a kind is in the window iff its last day is).
    last = _last_by_source(n, known.who, known.source, known.day)
    for g, name in enumerate(GROUPS):
        latest = last[:, _MEMBERS[g]].max(axis=1, initial=-1)
        x[:, COLUMN[f"days_since_{name}"]] = np.where(latest >= 0, as_of - latest, NEVER)
    for w in (90, 365):
        x[:, COLUMN[f"kinds_{w}"]] = ((last >= 0) & (as_of - last < w)).sum(axis=1)
    _regularity(x, as_of, history_start)
    return x


def _base(x: NDArray[np.float32], p: Population, as_of: int, history_start: int) -> None:
    x[:, COLUMN["age"]] = (as_of - p.birth) / 365.25
    x[:, COLUMN["male"]] = p.male
    for i, kind in enumerate(INSURANCE_TYPES):
        x[:, COLUMN[f"insurance_{kind}"]] = p.insurance == i
    x[:, COLUMN["benefit_normal"]] = p.benefit_normal
    x[:, COLUMN["history_days"]] = min(365, max(0, as_of - history_start + 1))
    known = (p.last_proof >= 0) & (p.last_proof <= as_of)
    x[:, COLUMN["days_since_proof"]] = np.where(known, as_of - p.last_proof, NEVER)
    for i, method in enumerate(PROOF_METHODS):
        x[:, COLUMN[f"proof_{method}"]] = known & (p.proof_method == i)


def _per_window(n: int, known: Trail, as_of: int) -> NDArray[np.float64]:
    """Events per person, group (0: all) and window, in one pass: each event is counted in
    the narrowest window that holds it, then the windows are summed outwards."""
    k, m = len(GROUPS), len(WINDOWS)
    narrowest = np.searchsorted(np.array(WINDOWS), as_of - known.day, side="right")
    key = (known.who * k + _GROUP_OF[known.source]) * m + narrowest
    flat = np.bincount(key, weights=known.count, minlength=n * k * m)
    counts: NDArray[np.float64] = np.cumsum(flat.reshape(n, k, m), axis=2)
    counts[:, 0, :] = counts[:, 1:, :].sum(axis=1)
    return counts


def _last_by_source(
    n: int, who: NDArray[np.int64], source: NDArray[np.int64], day: NDArray[np.int64]
) -> NDArray[np.int64]:
    """The last day of each person's events of each source (-1: none)."""
    flat = np.full(n * len(SOURCES), -1, dtype=np.int64)
    np.maximum.at(flat, who * len(SOURCES) + source, day)
    last: NDArray[np.int64] = flat.reshape(n, len(SOURCES))
    return last


def _regularity(x: NDArray[np.float32], as_of: int, history_start: int) -> None:
    """The pattern and its break: the usual monthly rate, how far the last 30 days fall
    short of it, and how long the current silence is against the usual gap."""
    observed = float(min(365, max(1, as_of - history_start + 1)))
    yearly = x[:, COLUMN["n365_any"]]
    monthly = yearly * 30.0 / observed
    x[:, COLUMN["monthly_rate"]] = monthly
    x[:, COLUMN["break_30"]] = x[:, COLUMN["n30_any"]] - monthly
    usual_gap = observed / np.maximum(yearly, 1.0)
    x[:, COLUMN["silence_ratio"]] = np.minimum(x[:, COLUMN["days_since_any"]], observed) / usual_gap
