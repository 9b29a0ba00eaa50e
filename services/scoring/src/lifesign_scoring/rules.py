"""Human-readable rules for staff (R-8.2.4), and the rule models made of approved ones.

A shallow decision tree learned from the same person-windows as the model is read out as
one rule per leaf ("days_since_care <= 40.5 and age <= 76.2 → alive"), each with its
support and precision on the test period, shown next to the model in the training report.
Rules staff approve become a :class:`RuleModel`: it certifies a window that matches an
approved "alive" rule (never on card signals alone), and is registered, promoted and
rolled back like any model version.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from sklearn.tree import DecisionTreeClassifier  # type: ignore[import-untyped]

from lifesign_scoring.features import COLUMN, FEATURE_VERSION, FEATURES

if TYPE_CHECKING:
    from lifesign_scoring.learning import Dataset


@dataclass(frozen=True)
class Condition:
    feature: str
    op: str  # "<=" or ">"
    cut: float

    def holds(self, x: NDArray[np.float32]) -> NDArray[np.bool_]:
        column = x[:, COLUMN[self.feature]]
        result: NDArray[np.bool_] = column <= self.cut if self.op == "<=" else column > self.cut
        return result

    def __str__(self) -> str:
        return f"{self.feature} {self.op} {self.cut:g}"


@dataclass(frozen=True)
class Rule:
    id: str
    conditions: tuple[Condition, ...]
    alive: bool  # what the rule says: alive, or not certified
    support: int  # windows of the test period it covers
    precision: float | None  # share of them for which it is right

    def matches(self, x: NDArray[np.float32]) -> NDArray[np.bool_]:
        hit = np.ones(len(x), dtype=bool)
        for condition in self.conditions:
            hit &= condition.holds(x)
        return hit

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "if": " and ".join(str(c) for c in self.conditions) or "always",
            "then": "alive" if self.alive else "not certified",
            "support": self.support,
            "precision": self.precision,
            "conditions": [asdict(c) for c in self.conditions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        return cls(
            data["id"],
            tuple(Condition(c["feature"], c["op"], float(c["cut"])) for c in data["conditions"]),
            data["then"] == "alive",
            int(data["support"]),
            data["precision"],
        )


def learn_rules(train: Dataset, test: Dataset, depth: int = 3) -> list[Rule]:
    """One rule per leaf of a shallow tree fitted on ``train``; support and precision on
    ``test``; the most supported first."""
    tree = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=100, random_state=0)
    tree.fit(train.x, train.alive)
    alive_class = list(tree.classes_).index(True) if True in tree.classes_ else -1
    rules = []
    for leaf, conditions in _leaf_paths(tree).items():
        rule = Rule(f"rule-{leaf}", tuple(conditions), False, 0, None)
        says_alive = bool(tree.tree_.value[leaf][0].argmax() == alive_class)
        hit = rule.matches(test.x)
        right = test.alive[hit] if says_alive else ~test.alive[hit]
        support = int(hit.sum())
        precision = round(float(right.mean()), 5) if support else None
        rules.append(Rule(rule.id, rule.conditions, says_alive, support, precision))
    return sorted(rules, key=lambda r: -r.support)


def _leaf_paths(tree: DecisionTreeClassifier) -> dict[int, list[Condition]]:
    t = tree.tree_
    paths: dict[int, list[Condition]] = {}

    def walk(node: int, conditions: list[Condition]) -> None:
        if t.children_left[node] == t.children_right[node]:
            paths[node] = conditions
            return
        name, cut = FEATURES[t.feature[node]], float(t.threshold[node])
        walk(t.children_left[node], [*conditions, Condition(name, "<=", cut)])
        walk(t.children_right[node], [*conditions, Condition(name, ">", cut)])

    walk(0, [])
    return paths


@dataclass
class RuleModel:
    """Approved "alive" rules applied as a model: the same interface as ScoringModel."""

    version: str
    rules: list[Rule]
    approved_by: str
    threshold: float = 0.5
    facts: dict[str, Any] | None = None

    def decide(self, x: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        from lifesign_scoring.learning import fakeable_only

        p = np.zeros(len(x), dtype=np.float64)
        for rule in self.rules:
            if rule.alive:
                p = np.maximum(p, np.where(rule.matches(x), rule.precision or 0.0, 0.0))
        return p, (p >= self.threshold) & ~fakeable_only(x)

    def contributions(
        self, x: NDArray[np.float32], top: int = 3
    ) -> list[list[tuple[str, float, float]]]:
        """The conditions of the first approved rule each row matches (contribution: the
        rule's precision), for display like the model's contributions."""
        explained: list[list[tuple[str, float, float]]] = [[] for _ in range(len(x))]
        for rule in self.rules:
            for i in np.nonzero(rule.matches(x))[0]:
                if not explained[i]:
                    explained[i] = [
                        (c.feature, float(x[i, COLUMN[c.feature]]), rule.precision or 0.0)
                        for c in rule.conditions[:top]
                    ]
        return explained

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "version": self.version,
                "kind": "rules",
                "features": list(FEATURES),
                "feature_version": FEATURE_VERSION,
                "approved_by": self.approved_by,
                "threshold": self.threshold,
                "facts": self.facts or {},
                "rules": [r.as_dict() for r in self.rules],
            }
        ).encode()

    @classmethod
    def from_bytes(cls, blob: bytes) -> RuleModel:
        data = json.loads(blob)
        if data.get("features") != list(FEATURES) or data.get("feature_version") != FEATURE_VERSION:
            raise ValueError("the rules use other features than this code computes")
        rules = [Rule.from_dict(r) for r in data["rules"]]
        return cls(
            data["version"], rules, data["approved_by"], float(data["threshold"]), data["facts"]
        )


def approve(rules: list[dict[str, Any]], ids: list[str], *, version: str, by: str) -> RuleModel:
    """A rule model of the report's rules whose ids staff approved ("alive" rules only)."""
    chosen = [Rule.from_dict(r) for r in rules if r["id"] in ids]
    missing = set(ids) - {r.id for r in chosen}
    if missing:
        raise ValueError(f"no such rules: {sorted(missing)}")
    if not all(r.alive for r in chosen):
        raise ValueError("only rules that say alive can certify")
    return RuleModel(version, chosen, by, facts={"approved_by": by, "rules": ids})
