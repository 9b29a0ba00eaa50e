"""Table-1 quality rules (R-7.3.2) as named, pure checks of one event.

Each rule has an id, its table-1 dimension and a severity: a ``warning`` lets the event
through with the finding recorded; ``quarantine`` holds it back; ``drop`` (duplicates) drops
it once, counted. A rule is a pure function of the event, its source and a :class:`Context`:
what the store knew when the batch was checked (the registry entry, the person's earlier
death reports, the record an event duplicates). Overall completeness judges a source's
daily volume, not one event: :func:`volume_findings` (run by the scheduled check).
"""

from __future__ import annotations

import bisect
import math
import statistics
import uuid
from collections.abc import Callable, Mapping, Sequence
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
    DROP = "drop"  # entity integrity: a duplicate record, dropped once and counted


@dataclass(frozen=True, slots=True)
class Pensioner:
    """What quality keeps of a registry record (R-7.2) to check events against."""

    sex: str
    birth_date: date


@dataclass(frozen=True, slots=True)
class DeathReport:
    """A death date some earlier event reported for the same person."""

    event_id: uuid.UUID
    source: str
    death_date: date


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may know besides the event: the time of the check and what the store
    held for this event's person and record when its batch was checked."""

    now: datetime
    registry_loaded: bool = False
    pensioner: Pensioner | None = None
    deaths: tuple[DeathReport, ...] = ()
    duplicate_of: str | None = None  # where the same source record id was first seen
    near_duplicate_of: uuid.UUID | None = None  # the event with the same content


Check = Callable[[LifeEvent, Source, Context], str | None]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    dimension: Dimension
    severity: Severity
    description: str
    #: None for the rules the scheduled volume check applies (they judge a day of a source).
    check: Check | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    rule: Rule
    message: str


#: Per source code, its required fields' names (the catalogue is fixed at import).
_REQUIRED: dict[str, tuple[str, ...]] = {}


def _required_fields(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    names = _REQUIRED.get(source.code)
    if names is None:
        names = _REQUIRED[source.code] = tuple(f.name for f in source.fields if f.required)
    attributes = event.attributes
    missing = [name for name in names if attributes.get(name) in (None, "")]
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


def _show(value: Any, limit: int = 60) -> str:
    """A value as a finding shows it: its repr, cut short (a 10 MB value stays a line)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _domain_problem(spec: FieldSpec, value: Any) -> str | None:
    if isinstance(value, dict | list):
        return f"{_show(value)} is not a {spec.type.value}"
    try:
        if spec.type is FieldType.ENUM and str(value) not in spec.domain:
            return f"{_show(value)} not in {list(spec.domain)}"
        if spec.type is FieldType.DATE:
            date.fromisoformat(str(value))
        elif spec.type is FieldType.DATETIME:
            datetime.fromisoformat(str(value))
        elif spec.type is FieldType.INTEGER:
            int(str(value))
        elif spec.type is FieldType.DECIMAL and not Decimal(str(value)).is_finite():
            return f"{_show(value)} is not a finite number"
        elif spec.type is FieldType.BOOLEAN and not isinstance(value, bool):
            return f"{_show(value)} is not true/false"
    except (ValueError, InvalidOperation):
        return f"{_show(value)} is not a valid {spec.type.value}"
    return None


#: Longest attribute value (characters) a department record plausibly holds; a longer one
#: is garbage or an attack, and would bloat every message and row that carries it.
MAX_VALUE_CHARS = 2000


def _bounded_values(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    problems = []
    for name, value in event.attributes.items():
        if isinstance(value, dict | list):
            problems.append(f"{name}: a nested {type(value).__name__}, not a value")
        elif isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
            problems.append(f"{name}: {len(value):,} characters (limit {MAX_VALUE_CHARS:,})")
    return "; ".join(problems) or None


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


#: Late by more than this many times the source's usual delay, and at least four weeks, is
#: stale. A department's delays spread log-normally around the usual one; six times it is
#: beyond nearly every on-time record, and four weeks catches a batch held back a month
#: from a source that normally delivers within days.
TIMELINESS_FACTOR = 6
TIMELINESS_FLOOR = timedelta(days=28)


def timeliness_limit(source: Source) -> timedelta:
    return max(timedelta(days=source.expected_delay_days * TIMELINESS_FACTOR), TIMELINESS_FLOOR)


_LIMITS: dict[str, timedelta] = {}


def observed_timeliness_limit(source: Source, usual_age_days: float) -> timedelta | None:
    """Q-TIM-01 against the delay a source shows (the median age of its records on arrival,
    by the scheduled check), where that is tighter than against the catalogue's: a
    household cancellation is dated when it is made and arrives within the day, though the
    catalogue counts its 90 days from the death it records. None: not tighter."""
    limit = max(timedelta(days=usual_age_days * TIMELINESS_FACTOR), TIMELINESS_FLOOR)
    return limit if limit < timeliness_limit(source) else None


def _timely(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    limit = _LIMITS.get(source.code)
    if limit is None:
        limit = _LIMITS[source.code] = timeliness_limit(source)
    age = event.received_at - event.occurred_at
    if age > limit:
        return (
            f"arrived {age.days} days after it occurred (usual delay {source.expected_delay_days})"
        )
    return None


def _record_id_present(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    if not event.provenance.source_record_id.strip():
        return "the department's record id is empty"
    return None


def _exact_duplicate(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    if ctx.duplicate_of is None:
        return None
    return f"record {event.provenance.source_record_id} was already received ({ctx.duplicate_of})"


def _near_duplicate(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    if ctx.near_duplicate_of is None:
        return None
    return f"same person, time and content as event {ctx.near_duplicate_of} under another id"


def _in_registry(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    # Before the registry is loaded every event would fail: that is no finding about it.
    if ctx.registry_loaded and ctx.pensioner is None:
        return "the person is not in the pensioner registry"
    return None


def sex_of_id(id_masked: str) -> str | None:
    """M/F from the 17th character of an 18-character id (kept by the mask), else None."""
    if len(id_masked) != 18 or not id_masked[16].isdigit():
        return None
    return "M" if int(id_masked[16]) % 2 else "F"


def _agrees_with_registry(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    if ctx.pensioner is None:
        return None
    sex = sex_of_id(event.person.id_masked)
    if sex is not None and sex != ctx.pensioner.sex:
        return f"the id number says sex {sex}, the registry {ctx.pensioner.sex}"
    return None


#: Death dates of one person further apart than this disagree (a funeral home and a
#: household office may date the same death a day or two apart).
DEATH_DATE_TOLERANCE = timedelta(days=3)


def death_date_of(event: LifeEvent) -> date | None:
    value = event.attributes.get("death_date")
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _disagreeing(event: LifeEvent, ctx: Context, *, same_source: bool) -> list[DeathReport]:
    if not ctx.deaths:
        return []
    death = death_date_of(event)
    if death is None:
        return []
    return [
        d
        for d in ctx.deaths
        if d.event_id != event.event_id
        and (d.source == event.source) is same_source
        and abs(d.death_date - death) > DEATH_DATE_TOLERANCE
    ]


def _deaths_agree_across_sources(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    others = _disagreeing(event, ctx, same_source=False)
    if not others:
        return None
    seen = ", ".join(sorted({f"{d.source} {d.death_date}" for d in others}))
    return f"death_date {death_date_of(event)} disagrees with {seen}"


def _successive_deaths(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    earlier = _disagreeing(event, ctx, same_source=True)
    if not earlier:
        return None
    dates = ", ".join(sorted({str(d.death_date) for d in earlier}))
    return f"this source reported the death on {dates} before, now on {death_date_of(event)}"


def _after_birth(event: LifeEvent, source: Source, ctx: Context) -> str | None:
    if ctx.pensioner is None:
        return None
    born = ctx.pensioner.birth_date
    death = death_date_of(event) if "death_date" in event.attributes else None
    if death is not None and death < born:
        return f"death_date {death} is before the registry birth date {born}"
    if event.occurred_at.date() < born:
        return f"occurred on {event.occurred_at.date()}, before the birth date {born}"
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
        "The event arrived within a few times its source's usual delay (the catalogue's; "
        "the scheduled check also judges it against the delay the source shows, if shorter).",
        _timely,
    ),
    Rule(
        "Q-DOM-03",
        Dimension.VALUE_DOMAIN,
        Severity.QUARANTINE,
        f"Attribute values are plain values of at most {MAX_VALUE_CHARS:,} characters.",
        _bounded_values,
    ),
    Rule(
        "Q-ENT-01",
        Dimension.ENTITY_INTEGRITY,
        Severity.QUARANTINE,
        "The record's identifier (the department's record id) is present.",
        _record_id_present,
    ),
    Rule(
        "Q-ENT-02",
        Dimension.ENTITY_INTEGRITY,
        Severity.DROP,
        "Exact duplicate: a record id already received is dropped once (a redelivery of the "
        "same message is not a duplicate).",
        _exact_duplicate,
    ),
    Rule(
        "Q-ENT-03",
        Dimension.ENTITY_INTEGRITY,
        Severity.DROP,
        "Near duplicate: the same person, time and content under another record id.",
        _near_duplicate,
    ),
    Rule(
        "Q-REF-01",
        Dimension.REFERENTIAL_INTEGRITY,
        Severity.WARNING,
        "The person is in the pensioner registry (others go to auxiliary analysis, R-7.5.1 c).",
        _in_registry,
    ),
    Rule(
        "Q-VAL-01",
        Dimension.VALUE_CONSISTENCY,
        Severity.WARNING,
        "The sex encoded in the id number agrees with the registry.",
        _agrees_with_registry,
    ),
    Rule(
        "Q-VAL-02",
        Dimension.VALUE_CONSISTENCY,
        Severity.WARNING,
        "A person's death date agrees across sources (within 3 days).",
        _deaths_agree_across_sources,
    ),
    Rule(
        "Q-LOG-02",
        Dimension.LOGICAL_CONSISTENCY,
        Severity.QUARANTINE,
        "No death and no event before the person's registry birth date.",
        _after_birth,
    ),
    Rule(
        "Q-REA-01",
        Dimension.REASONABLENESS,
        Severity.WARNING,
        "A source's successive death reports of one person agree (within 3 days).",
        _successive_deaths,
    ),
    Rule(
        "Q-OVC-01",
        Dimension.OVERALL_COMPLETENESS,
        Severity.WARNING,
        "A source delivers on a day about its usual volume: a day with (almost) nothing from a "
        "source that usually sends many is a silent day (scheduled check).",
    ),
    Rule(
        "Q-OVC-02",
        Dimension.OVERALL_COMPLETENESS,
        Severity.WARNING,
        "A day of more than three times a source's usual volume is a flood (scheduled check).",
    ),
    Rule(
        "Q-OVC-03",
        Dimension.OVERALL_COMPLETENESS,
        Severity.WARNING,
        "A record that was on its way while its source was silent and arrived with the flood "
        "that ended the silence (the backlog) is flagged (scheduled check).",
    ),
    Rule(
        "Q-TIM-02",
        Dimension.UPDATE_TIMELINESS,
        Severity.WARNING,
        "A day's delivery whose median age is weeks beyond the source's usual is a late batch: "
        "its records older than usual are flagged (scheduled check).",
    ),
    Rule(
        "Q-TIM-03",
        Dimension.UPDATE_TIMELINESS,
        Severity.WARNING,
        "A held-back batch: a day on which a source sent nothing, and the day 4 to 9 weeks "
        "later that brought the most records from before it, beyond what the source's usual "
        "delays explain (a source that sends every day) or as a cluster against the days "
        "around it (any source): those records are flagged (scheduled check).",
    ),
)
RULE_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
#: The rules of a record already received: checked first, and alone (a duplicate is dropped).
DUPLICATE_RULES = (RULE_BY_ID["Q-ENT-02"], RULE_BY_ID["Q-ENT-03"])
CONTENT_RULES = tuple(r for r in RULES if r not in DUPLICATE_RULES and r.check is not None)


def assess(
    event: LifeEvent, source: Source, ctx: Context, rules: Sequence[Rule] = RULES
) -> list[Finding]:
    """Every finding of every rule for one event (empty: clean)."""
    findings = []
    for rule in rules:
        if rule.check is None:
            continue
        message = rule.check(event, source, ctx)
        if message is not None:
            findings.append(Finding(rule, message))
    return findings


def is_quarantined(findings: list[Finding]) -> bool:
    return any(f.rule.severity is Severity.QUARANTINE for f in findings)


def is_duplicate(findings: list[Finding]) -> bool:
    return any(f.rule.severity is Severity.DROP for f in findings)


# ---------------------------------------------------------------------------------------
# Overall completeness (table 1): a source's daily volume against its own recent history.
# ---------------------------------------------------------------------------------------

#: Days of history a source's usual volume is taken from (the median: a silent week or a
#: flood in the window does not move it).
VOLUME_WINDOW_DAYS = 28
#: A source is judged only after this many days of history.
VOLUME_MIN_HISTORY_DAYS = 14
#: Silence is judged only for sources that usually send at least this many records a day:
#: a Poisson day of mean 8 is empty with probability e**-8 (3 in 10,000).
SILENT_MIN_USUAL = 8.0
SILENT_SHARE = 0.1
FLOOD_FACTOR = 3.0
FLOOD_MIN_EXTRA = 10


@dataclass(frozen=True, slots=True)
class VolumeFinding:
    source: str
    day: date
    kind: str  # "silent" | "flood"
    observed: int
    usual: float

    @property
    def rule_id(self) -> str:
        return "Q-OVC-01" if self.kind == "silent" else "Q-OVC-02"

    @property
    def message(self) -> str:
        verb = "silent" if self.kind == "silent" else "flooding"
        return (
            f"{self.source} {verb} on {self.day}: {self.observed} records, usually {self.usual:g}"
        )


def volume_findings(
    daily: Mapping[str, Mapping[date, int]], first: date, last: date
) -> list[VolumeFinding]:
    """Silent and flooding (source, day) in [first, last], each against the median of the
    source's previous :data:`VOLUME_WINDOW_DAYS` days (days without records count as 0,
    from the source's first day on)."""
    found = []
    for source, counts in sorted(daily.items()):
        if not counts:
            continue
        began = min(counts)
        day = max(first, began + timedelta(days=VOLUME_MIN_HISTORY_DAYS))
        while day <= last:
            window = [
                counts.get(day - timedelta(days=k), 0)
                for k in range(1, VOLUME_WINDOW_DAYS + 1)
                if day - timedelta(days=k) >= began
            ]
            usual = float(statistics.median(window))
            observed = counts.get(day, 0)
            if usual >= SILENT_MIN_USUAL and observed <= usual * SILENT_SHARE:
                found.append(VolumeFinding(source, day, "silent", observed, usual))
            elif observed > usual * FLOOD_FACTOR + FLOOD_MIN_EXTRA:
                found.append(VolumeFinding(source, day, "flood", observed, usual))
            day += timedelta(days=1)
    return found


def backlogs(
    findings: Sequence[VolumeFinding], within: timedelta
) -> list[tuple[str, date, date, date]]:
    """Silences whose backlog came back as a flood: (source, first silent day, last silent
    day, last flood day within ``within`` after it). A silence without a flood (a day's
    batch held back for weeks) is the late-delivery rule's business."""
    floods: dict[str, list[date]] = {}
    for f in findings:
        if f.kind == "flood":
            floods.setdefault(f.source, []).append(f.day)
    found = []
    for source, first, last in silent_runs(findings):
        after = [d for d in floods.get(source, ()) if last < d <= last + within]
        if after:
            found.append((source, first, last, max(after)))
    return found


def silent_runs(findings: Sequence[VolumeFinding]) -> list[tuple[str, date, date]]:
    """Consecutive silent days of each source as (source, first day, last day)."""
    runs: list[tuple[str, date, date]] = []
    for f in sorted((f for f in findings if f.kind == "silent"), key=lambda f: (f.source, f.day)):
        if runs and runs[-1][0] == f.source and runs[-1][2] + timedelta(days=1) == f.day:
            runs[-1] = (f.source, runs[-1][1], f.day)
        else:
            runs.append((f.source, f.day, f.day))
    return runs


#: The backlog of a silent source comes back within this long after the silence.
BACKLOG_WITHIN = timedelta(days=3)
#: After its flood the backlog keeps coming while the source's day stays above this multiple
#: of its usual volume plus :data:`CATCH_UP_EXTRA` (Q-OVC-03): the feed is still catching
#: up (a day's backlog sent from 08:00 runs into the next morning).
CATCH_UP_FACTOR = 1.5
CATCH_UP_EXTRA = 5


def catch_up_end(counts: Mapping[date, int], flood: date, usual: float) -> date:
    """The last day of a backlog whose (last) flood day is ``flood``: that day, and the
    days right after it, at most :data:`BACKLOG_WITHIN`, whose volume stays above
    ``usual`` x :data:`CATCH_UP_FACTOR` + :data:`CATCH_UP_EXTRA`."""
    end = flood
    while (
        end < flood + BACKLOG_WITHIN
        and counts.get(end + timedelta(days=1), 0) > usual * CATCH_UP_FACTOR + CATCH_UP_EXTRA
    ):
        end += timedelta(days=1)
    return end


#: A day's delivery is a late batch when its median age exceeds the source's usual median
#: age by this much; its records older than the usual median are then flagged (Q-TIM-02).
LATE_DELIVERY_MARGIN = timedelta(days=14)


# Held-back batches (Q-TIM-03): a department that holds a day's batch back leaves that day
# empty and delivers it weeks later; the delivery shows as an excess of old records.

#: Judge empty days only for sources that usually send at least this many a day.
HELD_MIN_USUAL = 3.0
#: Where a held-back batch may arrive: this many days after its empty day.
HELD_ARRIVAL_DAYS = (28, 62)
#: The excess of old records (over what the source's delays explain) that makes a batch.
HELD_MIN_EXCESS = 2.0


def empty_days(
    daily: Mapping[str, Mapping[date, int]], first: date, last: date
) -> list[tuple[str, date, float]]:
    """(source, day, usual) for each day in [first, last] a source that usually sends at
    least :data:`HELD_MIN_USUAL` a day sent nothing."""
    found = []
    for source, counts in sorted(daily.items()):
        if not counts:
            continue
        began = min(counts)
        day = max(first, began + timedelta(days=VOLUME_MIN_HISTORY_DAYS))
        while day <= last:
            if counts.get(day, 0) == 0:
                window = [
                    counts.get(day - timedelta(days=k), 0)
                    for k in range(1, VOLUME_WINDOW_DAYS + 1)
                    if day - timedelta(days=k) >= began
                ]
                usual = float(statistics.median(window))
                if usual >= HELD_MIN_USUAL:
                    found.append((source, day, usual))
            day += timedelta(days=1)
    return found


def share_at_least(ages: Mapping[int, int]) -> Callable[[int], float]:
    """P(age in whole days >= a) of a source, from its histogram of ages on arrival."""
    total = sum(ages.values()) or 1
    ordered = sorted(ages.items())

    def share(a: int) -> float:
        return sum(n for age, n in ordered if age >= a) / total

    return share


def held_back_arrival(
    empty: date, usual: float, old_by_day: Mapping[date, int], share: Callable[[int], float]
) -> date | None:
    """The day that brought a held-back batch of ``empty``: the most records from before it
    beyond ``usual * P(age >= days since)``, if that excess is at least
    :data:`HELD_MIN_EXCESS`."""
    best: tuple[float, date] | None = None
    for day, old in old_by_day.items():
        excess = old - usual * share((day - empty).days)
        if best is None or excess > best[0]:
            best = (excess, day)
    if best is None or best[0] < HELD_MIN_EXCESS:
        return None
    return best[1]


# A held-back batch of a source that sends little (Q-TIM-03, R-7.3.2 update timeliness):
# its empty day says nothing (such a source is often silent), and a day's median age moves
# little, but the batch still arrives as a cluster: one day brings more records from
# before the empty day than the days around it do at the same age.

#: The days either side of an arrival day whose old records are its baseline.
HELD_NEIGHBOUR_DAYS = 7
#: A cluster: at least this many times the baseline, plus :data:`HELD_MIN_EXCESS`...
HELD_CLUSTER_FACTOR = 3.0
#: ... and this improbable by chance (Poisson, mean the baseline): about one false batch
#: per source in 30 years of its empty days, each tried against five weeks of arrivals.
HELD_CLUSTER_P = 1e-4


def poisson_at_least(k: int, mean: float) -> float:
    """P(N >= k) for N ~ Poisson(mean)."""
    if k <= 0:
        return 1.0
    term = total = math.exp(-mean)
    for i in range(1, k):
        term *= mean / i
        total += term
    return max(0.0, 1.0 - total)


def clustered_arrival(
    empty: date, arrivals: Mapping[date, Sequence[date]], last: date
) -> date | None:
    """The day that brought a held-back batch of ``empty``, judged by clustering alone.

    ``arrivals``: per arrival day, the sorted days on which the source's records that
    arrived then occurred. For each day ``a`` 4-9 weeks after ``empty`` (up to ``last``),
    the records it brought from ``empty`` or before are set against the baseline: the mean,
    over the days ``a + j`` within :data:`HELD_NEIGHBOUR_DAYS` (up to ``last``), of their
    records from ``empty + j`` or before (the same age, so a source's ramp or trend moves
    both). The day of the largest excess wins if it is at least
    :data:`HELD_CLUSTER_FACTOR` x baseline + :data:`HELD_MIN_EXCESS` and its Poisson
    probability is under :data:`HELD_CLUSTER_P`."""

    def old(day: date, by: date) -> int:
        occurred = arrivals.get(day)
        return bisect.bisect_right(occurred, by) if occurred else 0

    low, high = HELD_ARRIVAL_DAYS
    best: tuple[float, date] | None = None
    for k in range(low, high + 1):
        day = empty + timedelta(days=k)
        if day > last:
            break
        seen = old(day, empty)
        if seen < HELD_MIN_EXCESS:
            continue
        shifts = [
            j
            for j in range(-HELD_NEIGHBOUR_DAYS, HELD_NEIGHBOUR_DAYS + 1)
            if j and day + timedelta(days=j) <= last
        ]
        around = [old(day + timedelta(days=j), empty + timedelta(days=j)) for j in shifts]
        baseline = sum(around) / len(around)
        excess = seen - baseline
        if (
            seen >= HELD_CLUSTER_FACTOR * baseline + HELD_MIN_EXCESS
            and poisson_at_least(seen, max(baseline, 0.05)) < HELD_CLUSTER_P
            and (best is None or excess > best[0])
        ):
            best = (excess, day)
    return None if best is None else best[1]


def days_without(
    daily: Mapping[str, Mapping[date, int]], first: date, last: date
) -> list[tuple[str, date]]:
    """(source, day) for each day in [first, last] from a source's first day on on which
    it sent nothing."""
    found = []
    for source, counts in sorted(daily.items()):
        if not counts:
            continue
        day = max(first, min(counts))
        while day <= last:
            if counts.get(day, 0) == 0:
                found.append((source, day))
            day += timedelta(days=1)
    return found
