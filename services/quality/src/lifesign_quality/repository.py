"""Every SQL statement of the quality service."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, and_, case, cast, distinct, func, literal, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifesign.db import bulk_insert
from lifesign.settings import TIMEZONE
from lifesign_quality.models import (
    death_report,
    finding,
    pensioner,
    quality_count,
    seen_event,
    volume_finding,
)
from lifesign_quality.service import DeathReport, Pensioner, VolumeFinding

Coordinates = tuple[str, int, int]
COUNT_COLUMNS = ("received", "accepted", "warned", "quarantined", "rejected", "duplicates")
_BEIJING = "Asia/Shanghai"


def _beijing_day(column: Any) -> Any:
    return cast(func.timezone(_BEIJING, column), Date)


async def claim_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Record each event id and content digest; return the ids recorded now (first seen).

    One statement (``bulk_insert``: one array per column): the primary key keeps the first
    coordinates of an id (a later copy is an exact duplicate or a redelivery) and the
    unique content digest keeps the first event with that content (a later one under
    another id is a near duplicate). Rows are inserted in the order given."""
    found = await bulk_insert(
        session, seen_event, rows, on_conflict="nothing", returning=["event_id"]
    )
    return {r["event_id"] for r in found}


async def prior_sightings(
    session: AsyncSession, event_ids: Iterable[uuid.UUID], digests: Iterable[bytes]
) -> tuple[dict[uuid.UUID, Coordinates], dict[bytes, uuid.UUID]]:
    """Where ids were first seen, and which event first had each content digest."""
    ids, contents = list(set(event_ids)), list(set(digests))
    if not ids and not contents:
        return {}, {}
    found = await session.execute(
        select(
            seen_event.c.event_id,
            seen_event.c.topic,
            seen_event.c.partition,
            seen_event.c.offset,
            seen_event.c.content_digest,
        ).where(seen_event.c.event_id.in_(ids) | seen_event.c.content_digest.in_(contents))
    )
    where: dict[uuid.UUID, Coordinates] = {}
    owner: dict[bytes, uuid.UUID] = {}
    for r in found:
        where[r.event_id] = (r.topic, r.partition, r.offset)
        if r.content_digest is not None:
            owner[r.content_digest] = r.event_id
    return where, owner


async def registry_loaded(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(literal(1)).select_from(pensioner).limit(1)))


#: One row of three arrays: fetching a row per pensioner through the driver adapter costs
#: more than the lookup itself at thousands of events a second.
_PENSIONERS = text(
    """
    SELECT array_agg(pseudonym), array_agg(sex), array_agg(birth_date)
    FROM quality.pensioner WHERE pseudonym = ANY(CAST(:keys AS varchar[]))
    """
)


async def pensioners(session: AsyncSession, pseudonyms: Iterable[str]) -> dict[str, Pensioner]:
    keys = list(set(pseudonyms))
    if not keys:
        return {}
    row = (await session.execute(_PENSIONERS, {"keys": keys})).one()
    if row[0] is None:
        return {}
    return {p: Pensioner(sex, born) for p, sex, born in zip(row[0], row[1], row[2], strict=True)}


async def upsert_pensioners(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Keep the latest registry record of each pensioner (an older one arriving late loses)."""
    if not rows:
        return
    statement = insert(pensioner)
    statement = statement.on_conflict_do_update(
        index_elements=[pensioner.c.pseudonym],
        set_={c: statement.excluded[c] for c in ("sex", "birth_date", "updated_at")},
        where=pensioner.c.updated_at <= statement.excluded.updated_at,
    )
    await session.execute(statement, list(rows))


async def deaths_of(
    session: AsyncSession, pseudonyms: Iterable[str]
) -> dict[str, list[DeathReport]]:
    keys = list(set(pseudonyms))
    found: dict[str, list[DeathReport]] = defaultdict(list)
    if not keys:
        return found
    rows = await session.execute(select(death_report).where(death_report.c.pseudonym.in_(keys)))
    for r in rows:
        found[r.pseudonym].append(DeathReport(r.event_id, r.source, r.death_date))
    return found


async def add_deaths(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await bulk_insert(session, death_report, rows, on_conflict="nothing")


async def add_counts(session: AsyncSession, counts: dict[tuple[str, date], Counter[str]]) -> None:
    """Add to the per (source, day of arrival) counts."""
    rows = [
        {"source": source, "day": day, **{name: c[name] for name in COUNT_COLUMNS}}
        for (source, day), c in sorted(counts.items())
    ]
    if not rows:
        return
    statement = insert(quality_count)
    statement = statement.on_conflict_do_update(
        index_elements=[quality_count.c.source, quality_count.c.day],
        set_={name: quality_count.c[name] + statement.excluded[name] for name in COUNT_COLUMNS},
    )
    await session.execute(statement, rows)


async def record_findings(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    await bulk_insert(session, finding, rows, on_conflict="nothing")


async def counts(
    session: AsyncSession, first: date | None = None, last: date | None = None
) -> list[dict[str, Any]]:
    query = select(quality_count).order_by(quality_count.c.day, quality_count.c.source)
    if first is not None:
        query = query.where(quality_count.c.day >= first)
    if last is not None:
        query = query.where(quality_count.c.day <= last)
    return [dict(r._mapping) for r in await session.execute(query)]


async def findings_for(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> list[dict[str, Any]]:
    result = await session.execute(
        select(finding.c.event_id, finding.c.rule_id, finding.c.severity, finding.c.message).where(
            finding.c.event_id.in_(event_ids)
        )
    )
    return [dict(r._mapping) for r in result]


# -- the scheduled checks ---------------------------------------------------------------


async def daily_received(
    session: AsyncSession, first: date, last: date
) -> dict[str, dict[date, int]]:
    """Records received per source and day (duplicates included: a flood of copies is one)."""
    rows = await session.execute(
        select(quality_count.c.source, quality_count.c.day, quality_count.c.received).where(
            quality_count.c.day.between(first, last)
        )
    )
    daily: dict[str, dict[date, int]] = defaultdict(dict)
    for r in rows:
        daily[r.source][r.day] = int(r.received)
    return daily


async def save_volume_findings(session: AsyncSession, found: Sequence[VolumeFinding]) -> None:
    if not found:
        return
    statement = insert(volume_finding)
    statement = statement.on_conflict_do_update(
        index_elements=[volume_finding.c.source, volume_finding.c.day],
        set_={
            **{c: statement.excluded[c] for c in ("kind", "observed", "usual")},
            "checked_at": func.now(),
        },
    )
    rows = [
        {
            "source": f.source,
            "day": f.day,
            "kind": f.kind,
            "observed": f.observed,
            "usual": f.usual,
        }
        for f in found
    ]
    await session.execute(statement, rows)


async def volume_findings(session: AsyncSession, first: date, last: date) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(volume_finding)
        .where(volume_finding.c.day.between(first, last))
        .order_by(volume_finding.c.day, volume_finding.c.source)
    )
    return [dict(r._mapping) for r in rows]


def _flag_rows(rule_id: str, message: Any, where: Any) -> Any:
    """INSERT INTO finding SELECT ... FROM seen_event: a warning on every event matched."""
    event = func.jsonb_build_object(
        "source",
        seen_event.c.source,
        "provenance",
        func.jsonb_build_object("source_record_id", seen_event.c.source_record_id),
        "occurred_at",
        seen_event.c.occurred_at,
    )
    chosen = select(
        seen_event.c.event_id,
        literal(rule_id),
        seen_event.c.source,
        literal("warning"),
        func.left(message, 500),
        _beijing_day(seen_event.c.received_at),
        event,
        seen_event.c.received_at,
    ).where(where)
    columns = ["event_id", "rule_id", "source", "severity", "message", "day", "event"]
    return insert(finding).from_select([*columns, "received_at"], chosen).on_conflict_do_nothing()


async def flag_backlog(
    session: AsyncSession, source: str, first: date, last: date, flood: date
) -> int:
    """Q-OVC-03: flag the events of ``source`` on their way during its silence [first,
    last]: occurred by the end of it, received with the backlog, by the end of ``flood``
    (the last flood day or the last day the feed was still catching up after it; later
    ones are the timeliness rules' business)."""
    end = datetime.combine(last + timedelta(days=1), datetime.min.time())
    back = datetime.combine(flood + timedelta(days=1), datetime.min.time())
    message = literal(f"on its way while {source} was silent from {first} to {last}")
    where = and_(
        seen_event.c.source == source,
        func.timezone(_BEIJING, seen_event.c.occurred_at) < end,
        func.timezone(_BEIJING, seen_event.c.received_at) >= end,
        func.timezone(_BEIJING, seen_event.c.received_at) < back,
    )
    result = await session.execute(_flag_rows("Q-OVC-03", message, where))
    return int(getattr(result, "rowcount", 0) or 0)


#: Per source: the median age on arrival over the window; per (source, day): the day's
#: median; days whose median exceeds the source's by the margin are late deliveries.
_LATE_DELIVERIES = text(
    """
    WITH arrivals AS (
        SELECT source,
               (received_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
               EXTRACT(EPOCH FROM received_at - occurred_at) / 86400.0 AS age
        FROM quality.seen_event
        WHERE received_at >= :since AND received_at < :until AND source IS NOT NULL
    ), usual AS (
        SELECT source, percentile_cont(0.5) WITHIN GROUP (ORDER BY age) AS age
        FROM arrivals GROUP BY source HAVING count(*) >= 20
    ), days AS (
        SELECT source, day, percentile_cont(0.5) WITHIN GROUP (ORDER BY age) AS age,
               count(*) AS n
        FROM arrivals WHERE day BETWEEN :first AND :last GROUP BY source, day
    )
    SELECT d.source, d.day, d.age AS day_age, u.age AS usual_age, d.n
    FROM days d JOIN usual u USING (source)
    WHERE d.n >= 2 AND d.age > u.age + :margin
    """
)


async def late_deliveries(
    session: AsyncSession, first: date, last: date, margin_days: float
) -> list[dict[str, Any]]:
    since = datetime.combine(first - timedelta(days=90), datetime.min.time(), TIMEZONE)
    until = datetime.combine(last + timedelta(days=2), datetime.min.time(), TIMEZONE)
    rows = await session.execute(
        _LATE_DELIVERIES,
        {
            "since": since,
            "until": until,
            "first": first,
            "last": last,
            "margin": margin_days,
        },
    )
    return [dict(r._mapping) for r in rows]


_USUAL_AGES = text(
    """
    SELECT source,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY EXTRACT(EPOCH FROM received_at - occurred_at) / 86400.0
           ) AS age
    FROM quality.seen_event
    WHERE received_at >= :since AND received_at < :until AND source IS NOT NULL
    GROUP BY source HAVING count(*) >= 20
    """
)


async def usual_ages(session: AsyncSession, first: date, last: date) -> dict[str, float]:
    """Per source with at least 20 records arriving in [first, last] (Beijing): the median
    age of its records on arrival, in days."""
    rows = await session.execute(
        _USUAL_AGES,
        {
            "since": datetime.combine(first, datetime.min.time(), TIMEZONE),
            "until": datetime.combine(last + timedelta(days=1), datetime.min.time(), TIMEZONE),
        },
    )
    return {r.source: float(r.age) for r in rows}


async def flag_stale(
    session: AsyncSession,
    source: str,
    first: date,
    last: date,
    limit: timedelta,
    usual_age_days: float,
) -> int:
    """Q-TIM-01 by the scheduled check: flag the records of ``source`` that arrived in
    [first, last] (Beijing) older than ``limit`` (from the delay the source shows)."""
    message = literal(
        f"arrived more than {limit.days} days after it occurred ({source}'s records usually "
        f"arrive {usual_age_days:.1f} days after)"
    )
    where = and_(
        seen_event.c.source == source,
        _beijing_day(seen_event.c.received_at).between(first, last),
        seen_event.c.received_at - seen_event.c.occurred_at > limit,
    )
    result = await session.execute(_flag_rows("Q-TIM-01", message, where))
    return int(getattr(result, "rowcount", 0) or 0)


#: Within a late delivery, a record this much older than the source's usual age is late.
LATE_RECORD_MARGIN = timedelta(days=7)


async def flag_late_delivery(
    session: AsyncSession, source: str, day: date, usual_age_days: float, day_age_days: float
) -> int:
    """Q-TIM-02: flag the records of a late delivery that are a week older than the
    source's usual (the on-time part of the day's delivery is not flagged)."""
    message = literal(
        f"delivered on {day} in a batch of median age {day_age_days:.0f} days "
        f"(usually {usual_age_days:.0f})"
    )
    where = and_(
        seen_event.c.source == source,
        _beijing_day(seen_event.c.received_at) == day,
        seen_event.c.received_at - seen_event.c.occurred_at
        > timedelta(days=usual_age_days) + LATE_RECORD_MARGIN,
    )
    result = await session.execute(_flag_rows("Q-TIM-02", message, where))
    return int(getattr(result, "rowcount", 0) or 0)


# -- the report and the outcomes --------------------------------------------------------


async def rule_counts(session: AsyncSession, first: date, last: date) -> list[dict[str, Any]]:
    """Findings per source, day and rule in [first, last]."""
    rows = await session.execute(
        select(finding.c.source, finding.c.day, finding.c.rule_id, func.count().label("n"))
        .where(finding.c.day.between(first, last))
        .group_by(finding.c.source, finding.c.day, finding.c.rule_id)
    )
    return [dict(r._mapping) for r in rows]


async def dimension_counts(
    session: AsyncSession, first: date, last: date, dimension_of: dict[str, str]
) -> list[dict[str, Any]]:
    """Per source and dimension: records with at least one finding of its rules."""
    dimension = case(dimension_of, value=finding.c.rule_id, else_=literal("other"))
    rows = await session.execute(
        select(
            finding.c.source,
            dimension.label("dimension"),
            func.count(distinct(finding.c.event_id)).label("n"),
        )
        .where(finding.c.day.between(first, last))
        .group_by(finding.c.source, dimension)
    )
    return [dict(r._mapping) for r in rows]


async def examples(
    session: AsyncSession, rule_id: str, first: date, last: date, limit: int = 3
) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(finding.c.source, finding.c.day, finding.c.message, finding.c.event)
        .where(finding.c.rule_id == rule_id, finding.c.day.between(first, last))
        .order_by(finding.c.day)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


async def record_ids_with(
    session: AsyncSession, rule_ids: Sequence[str], after: int = 0, limit: int = 10000
) -> list[dict[str, Any]]:
    """Record ids with a finding of one of ``rule_ids`` (for the evaluation's outcomes)."""
    record_id = finding.c.event["provenance"]["source_record_id"].astext
    rows = await session.execute(
        select(finding.c.rule_id, finding.c.source, record_id.label("record_id"))
        .where(finding.c.rule_id.in_(list(rule_ids)))
        .order_by(finding.c.rule_id, finding.c.event_id)
        .offset(after)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


_AGE_HISTOGRAM = text(
    """
    SELECT floor(EXTRACT(EPOCH FROM received_at - occurred_at) / 86400)::int AS age, count(*)
    FROM quality.seen_event
    WHERE source = :source AND received_at >= :since AND received_at < :until
    GROUP BY 1
    """
)


async def age_histogram(
    session: AsyncSession, source: str, first: date, last: date
) -> dict[int, int]:
    """A source's ages on arrival, in whole days, over [first, last] (Beijing)."""
    rows = await session.execute(
        _AGE_HISTOGRAM,
        {
            "source": source,
            "since": datetime.combine(first, datetime.min.time(), TIMEZONE),
            "until": datetime.combine(last + timedelta(days=1), datetime.min.time(), TIMEZONE),
        },
    )
    return {int(r[0]): int(r[1]) for r in rows}


def _held_where(source: str, empty: date) -> Any:
    after = datetime.combine(empty + timedelta(days=1), datetime.min.time())
    return and_(
        seen_event.c.source == source,
        func.timezone(_BEIJING, seen_event.c.occurred_at) < after,
    )


async def old_records_by_day(
    session: AsyncSession, source: str, empty: date, first: date, last: date
) -> dict[date, int]:
    """Per arrival day in [first, last]: records of ``source`` that occurred by ``empty``."""
    day = _beijing_day(seen_event.c.received_at)
    rows = await session.execute(
        select(day.label("day"), func.count())
        .where(_held_where(source, empty), day.between(first, last))
        .group_by(day)
    )
    return {r[0]: int(r[1]) for r in rows}


async def arrivals_by_occurrence(
    session: AsyncSession, source: str, first: date, last: date
) -> dict[date, list[date]]:
    """Per arrival day in [first, last] (Beijing): the sorted Beijing days on which the
    records of ``source`` that arrived then occurred (one entry per record)."""
    arrived = _beijing_day(seen_event.c.received_at)
    occurred = _beijing_day(seen_event.c.occurred_at)
    rows = await session.execute(
        select(arrived, occurred, func.count())
        .where(seen_event.c.source == source, arrived.between(first, last))
        .group_by(arrived, occurred)
    )
    found: dict[date, list[date]] = defaultdict(list)
    for day, when, n in rows:
        found[day].extend([when] * int(n))
    for days in found.values():
        days.sort()
    return dict(found)


async def flag_held_back(session: AsyncSession, source: str, empty: date, arrival: date) -> int:
    """Q-TIM-03: flag the records of ``source`` from before ``empty`` that came on ``arrival``."""
    message = literal(f"held back: {source} sent nothing on {empty}; arrived on {arrival}")
    where = and_(_held_where(source, empty), _beijing_day(seen_event.c.received_at) == arrival)
    result = await session.execute(_flag_rows("Q-TIM-03", message, where))
    return int(getattr(result, "rowcount", 0) or 0)
