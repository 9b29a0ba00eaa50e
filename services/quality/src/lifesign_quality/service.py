"""Table-1 quality rules (R-7.3.2) as named, pure checks of one event.

Each rule has an id, its table-1 dimension and a severity: a ``warning`` lets the event
through with the finding recorded; ``quarantine`` holds it back. Rules that need history
or other sources (value consistency across sources, reasonableness of successive values,
overall completeness) run over the stored findings and counts, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from lifesign.catalogue import FieldSpec, FieldType, Source
from lifesign.events import LifeEvent


class Dimension(StrEnum):
    """The quality types of table 1."""

    VALUE_CONSISTENCY = "value_consistency"  # 数值一致性
    LOGICAL_CONSISTENCY = "logical_consistency"  # 逻辑一致性
    UPDATE_TIMELINESS = "update_timeliness"  # 更新及时性
    VALUE_DOMAIN = "value_domain"  # 值域正确性
    REASONABLENESS = "reasonableness"  # 数据合理性
    REFERENTIAL_INTEGRITY = "referential_integrity"  # 参照完整性
    COLUMN_COMPLETENESS = "column_completeness"  # 列完整性
    ENTITY_INTEGRITY = "entity_integrity"  # 实体完整性
    OVERALL_COMPLETENESS = "overall_completeness"  # 总体完整性


class Severity(StrEnum):
    WARNING = "warning"
    QUARANTINE = "quarantine"


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may know besides the event: the time of the check."""

    now: datetime


Check = Callable[[LifeEvent, Source, Context], str | None]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    dimension: Dimension
    severity: Severity
    description: str
    check: Check


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    message: str


def _required_fields(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    missing = [
        f.name for f in source.fields if f.required and event.attributes.get(f.name) in (None, "")
    ]
    return f"missing required fields: {', '.join(missing)}" if missing else None


def _field_domains(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    problems = []
    for spec in source.fields:
        value = event.attributes.get(spec.name)
        if value in (None, ""):
            continue
        problem = _domain_problem(spec, value)
        if problem:
            problems.append(f"{spec.name}: {problem}")
    return "; ".join(problems) or None


def _domain_problem(spec: FieldSpec, value: Any) -> str | None:
    try:
        if spec.type is FieldType.ENUM and str(value) not in spec.domain:
            return f"{value!r} not in {list(spec.domain)}"
        if spec.type is FieldType.DATE:
            date.fromisoformat(str(value))
        elif spec.type is FieldType.DATETIME:
            datetime.fromisoformat(str(value))
        elif spec.type is FieldType.INTEGER:
            int(str(value))
        elif spec.type is FieldType.DECIMAL and not Decimal(str(value)).is_finite():
            return f"{value!r} is not a finite number"
        elif spec.type is FieldType.BOOLEAN and not isinstance(value, bool):
            return f"{value!r} is not true/false"
    except (ValueError, InvalidOperation):
        return f"{value!r} is not a valid {spec.type.value}"
    return None


EARLIEST_EVENT = datetime(1900, 1, 1, tzinfo=UTC)
#: A device clock may run a little fast; beyond this an event "from the future" is wrong.
FUTURE_TOLERANCE = timedelta(hours=24)


def _plausible_time(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    if event.occurred_at > ctx.now + FUTURE_TOLERANCE:
        return f"occurred_at {event.occurred_at.isoformat()} is in the future"
    if event.occurred_at < EARLIEST_EVENT:
        return f"occurred_at {event.occurred_at.isoformat()} is before 1900"
    return None


#: Pairs of date fields that must be in order within one record (source, earlier, later).
ORDERED_DATES: tuple[tuple[str, str, str], ...] = (
    ("inpatient_record", "admission_date", "discharge_date"),
    ("inpatient_settlement", "admission_date", "discharge_date"),
    ("funeral_cremation", "death_date", "cremation_date"),
    ("prison_sentence", "sentence_start", "released_on"),
    ("prison_sentence", "sentence_start", "expected_release"),
)


def _ordered_dates(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    for code, earlier, later in ORDERED_DATES:
        if code != source.code:
            continue
        first, second = event.attributes.get(earlier), event.attributes.get(later)
        if not first or not second:
            continue
        try:
            if date.fromisoformat(str(second)) < date.fromisoformat(str(first)):
                return f"{later} {second} is before {earlier} {first}"
        except ValueError:
            continue  # a malformed date is the value-domain rule's finding
    return None


#: Late by more than this many times the source's usual delay (and a month) is stale.
TIMELINESS_FACTOR = 3
TIMELINESS_SLACK = timedelta(days=30)


def _timely(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    age = event.received_at - event.occurred_at
    limit = timedelta(days=source.expected_delay_days * TIMELINESS_FACTOR) + TIMELINESS_SLACK
    if age > limit:
        return (
            f"arrived {age.days} days after it occurred (usual delay {source.expected_delay_days})"
        )
    return None


RULES: tuple[Rule, ...] = (
    Rule(
        "Q-COL-01",
        Dimension.COLUMN_COMPLETENESS,
        Severity.QUARANTINE,
        "The source's required fields are present and not empty.",
        _required_fields,
    ),
    Rule(
        "Q-DOM-01",
        Dimension.VALUE_DOMAIN,
        Severity.QUARANTINE,
        "Each field's value is of its type and, for coded fields, in its domain.",
        _field_domains,
    ),
    Rule(
        "Q-DOM-02",
        Dimension.VALUE_DOMAIN,
        Severity.QUARANTINE,
        "The event time is neither in the future nor before 1900.",
        _plausible_time,
    ),
    Rule(
        "Q-LOG-01",
        Dimension.LOGICAL_CONSISTENCY,
        Severity.QUARANTINE,
        "Dates within a record are in order (admission before discharge, death before "
        "cremation, sentence start before release).",
        _ordered_dates,
    ),
    Rule(
        "Q-TIM-01",
        Dimension.UPDATE_TIMELINESS,
        Severity.WARNING,
        "The event arrived within a few times its source's usual delay.",
        _timely,
    ),
)


def assess(event: LifeEvent, source: Source, ctx: Context) -> list[Finding]:
    """Every finding of every rule for one event (empty: clean)."""
    findings = []
    for rule in RULES:
        message = rule.check(event, source, ctx)
        if message is not None:
            findings.append(Finding(rule, message))
    return findings


def is_quarantined(findings: list[Finding]) -> bool:
    return any(f.rule.severity is Severity.QUARANTINE for f in findings)
