"""The data-quality report (R-8.2.3.2): per source and period, every dimension's score, the
worst rules with masked examples, the daily trend, and the silent or flooding sources.

A dimension's score is the share of received records with no finding of that dimension
(1.0: nothing found); for overall completeness it is the share of days of the period on
which the source was neither silent nor flooding. Built from quality's own tables only.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lifesign_quality import repository
from lifesign_quality.service import RULE_BY_ID, RULES, Dimension

WORST_RULES = 10
_COUNT_KEYS = repository.COUNT_COLUMNS


async def build(session: AsyncSession, first: date, last: date) -> dict[str, Any]:
    counts = await repository.counts(session, first, last)
    by_rule = await repository.rule_counts(session, first, last)
    volume = await repository.volume_findings(session, first, last)
    dimensions = await repository.dimension_counts(
        session, first, last, {r.id: r.dimension.value for r in RULES}
    )
    days = (last - first).days + 1
    sources = _sources(counts, by_rule, dimensions, volume, days)
    totals = Counter[str]()
    for row in counts:
        totals.update({k: int(row[k]) for k in _COUNT_KEYS})
    rule_totals: Counter[str] = Counter()
    for r in by_rule:
        rule_totals[r["rule_id"]] += int(r["n"])
    worst = [
        {
            **_rule_json(rule_id),
            "count": n,
            "examples": await _examples(session, rule_id, first, last),
        }
        for rule_id, n in rule_totals.most_common(WORST_RULES)
    ]
    return {
        "period": {"from": first.isoformat(), "to": last.isoformat(), "days": days},
        "totals": dict(totals),
        "balanced": _balanced(totals),
        "scores": _scores(
            totals["received"], _per_dimension(dimensions), volume, days, len(sources)
        ),
        "sources": sources,
        "worst_rules": worst,
        "trend": _trend(counts, by_rule),
        "silent_or_flooding": [
            {
                "source": v["source"],
                "day": v["day"].isoformat(),
                "kind": v["kind"],
                "observed": int(v["observed"]),
                "usual": float(v["usual"]),
            }
            for v in volume
        ],
    }


def _balanced(c: Counter[str]) -> bool:
    return c["received"] == c["accepted"] + c["quarantined"] + c["rejected"] + c["duplicates"]


def _rule_json(rule_id: str) -> dict[str, Any]:
    rule = RULE_BY_ID.get(rule_id)
    if rule is None:
        return {"rule_id": rule_id, "dimension": None, "severity": None, "description": ""}
    return {
        "rule_id": rule.id,
        "dimension": rule.dimension.value,
        "severity": rule.severity.value,
        "description": rule.description,
    }


async def _examples(session: AsyncSession, rule_id: str, first: date, last: date) -> list[Any]:
    """Examples show masked identity only (R-5.3.3): the stored event has no plaintext."""
    found = await repository.examples(session, rule_id, first, last)
    out = []
    for e in found:
        person = (e["event"] or {}).get("person") or {}
        out.append(
            {
                "source": e["source"],
                "day": e["day"].isoformat(),
                "message": e["message"],
                "id_masked": person.get("id_masked"),
                "name_masked": person.get("name_masked"),
            }
        )
    return out


def _per_dimension(rows: list[dict[str, Any]], source: str | None = None) -> Counter[str]:
    """Records with a finding, per dimension (each record once per dimension)."""
    found: Counter[str] = Counter()
    for r in rows:
        if source is None or r["source"] == source:
            found[r["dimension"]] += int(r["n"])
    return found


def _scores(
    received: int, per_dimension: Counter[str], volume: list[dict[str, Any]], days: int, n: int
) -> dict[str, float | None]:
    """1 - records with a finding of the dimension / received; overall completeness: the
    share of (source, day) that were neither silent nor flooding."""
    scores: dict[str, float | None] = {}
    for dimension in Dimension:
        if dimension is Dimension.OVERALL_COMPLETENESS:
            source_days = days * max(n, 1)
            bad = len({(v["source"], v["day"]) for v in volume})
            scores[dimension.value] = 1 - bad / source_days if source_days else None
        else:
            found = per_dimension[dimension.value]
            scores[dimension.value] = max(0.0, 1 - found / received) if received else None
    return scores


def _sources(
    counts: list[dict[str, Any]],
    by_rule: list[dict[str, Any]],
    dimensions: list[dict[str, Any]],
    volume: list[dict[str, Any]],
    days: int,
) -> list[dict[str, Any]]:
    totals: dict[str, Counter[str]] = defaultdict(Counter)
    for row in counts:
        totals[row["source"]].update({k: int(row[k]) for k in _COUNT_KEYS})
    rules: dict[str, Counter[str]] = defaultdict(Counter)
    for r in by_rule:
        rules[r["source"]][r["rule_id"]] += int(r["n"])
    out = []
    for source in sorted(totals):
        c = totals[source]
        mine = [v for v in volume if v["source"] == source]
        out.append(
            {
                "source": source,
                **{k: c[k] for k in _COUNT_KEYS},
                "balanced": _balanced(c),
                "scores": _scores(c["received"], _per_dimension(dimensions, source), mine, days, 1),
                "silent_days": sum(v["kind"] == "silent" for v in mine),
                "flood_days": sum(v["kind"] == "flood" for v in mine),
                "findings": dict(rules[source].most_common()),
            }
        )
    return out


def _trend(counts: list[dict[str, Any]], by_rule: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per day: received, quarantined, warned and the share without any finding."""
    day_counts: dict[date, Counter[str]] = defaultdict(Counter)
    for row in counts:
        day_counts[row["day"]].update({k: int(row[k]) for k in _COUNT_KEYS})
    return [
        {
            "day": day.isoformat(),
            "received": c["received"],
            "quarantined": c["quarantined"],
            "warned": c["warned"],
            "rejected": c["rejected"],
            "duplicates": c["duplicates"],
            "clean_share": (
                (c["received"] - c["quarantined"] - c["warned"] - c["rejected"] - c["duplicates"])
                / c["received"]
                if c["received"]
                else None
            ),
        }
        for day, c in sorted(day_counts.items())
    ]


# -- HTML -------------------------------------------------------------------------------


def render_html(report: dict[str, Any]) -> str:
    """A self-contained page: tables and inline SVG charts, no script, nothing fetched."""
    period = report["period"]
    e = html.escape
    parts = [
        "<!doctype html><html lang='en'><meta charset='utf-8'>",
        f"<title>Data-quality report {e(period['from'])} to {e(period['to'])}</title>",
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}"
        ".bad{color:#b00}</style>",
        f"<h1>Data-quality report</h1><p>{e(period['from'])} to {e(period['to'])} "
        f"({period['days']} days), R-8.2.3.2. Records balance: "
        f"{'yes' if report['balanced'] else '<b class=bad>NO</b>'}.</p>",
        _totals_table(report["totals"]),
        "<h2>Score per dimension (table 1)</h2>",
        _bar_chart(report["scores"]),
        "<h2>Trend: share of records without any finding, per day</h2>",
        _line_chart(report["trend"]),
        "<h2>Silent or flooding sources</h2>",
        _volume_table(report["silent_or_flooding"]),
        "<h2>Worst rules</h2>",
        _worst_table(report["worst_rules"]),
        "<h2>Per source</h2>",
        _source_table(report["sources"]),
        "</html>",
    ]
    return "\n".join(parts)


def _totals_table(totals: dict[str, int]) -> str:
    head = "".join(f"<th>{k}</th>" for k in _COUNT_KEYS)
    row = "".join(f"<td>{totals.get(k, 0):,}</td>" for k in _COUNT_KEYS)
    return f"<table><tr>{head}</tr><tr>{row}</tr></table>"


def _bar_chart(scores: dict[str, float | None]) -> str:
    width, bar, gap = 700, 18, 6
    rows = list(scores.items())
    height = len(rows) * (bar + gap) + 10
    out = [f"<svg width='{width}' height='{height}' role='img' aria-label='scores'>"]
    for i, (name, score) in enumerate(rows):
        y = 5 + i * (bar + gap)
        value = score if score is not None else 0.0
        length = value * (width - 320)
        colour = "#2a7" if value >= 0.99 else ("#da2" if value >= 0.95 else "#c33")
        label = "n/a" if score is None else f"{score:.2%}"
        out.append(
            f"<text x='0' y='{y + 13}'>{html.escape(name)}</text>"
            f"<rect x='200' y='{y}' width='{length:.1f}' height='{bar}' fill='{colour}'/>"
            f"<text x='{205 + length:.1f}' y='{y + 13}'>{label}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _line_chart(trend: list[dict[str, Any]]) -> str:
    points: list[tuple[str, float]] = [
        (str(t["day"]), float(t["clean_share"])) for t in trend if t["clean_share"] is not None
    ]
    if len(points) < 2:
        return "<p>Not enough days for a trend.</p>"
    width, height, pad = 900, 220, 40
    low = min(v for _, v in points)
    low = min(low, 0.9)
    step = (width - 2 * pad) / (len(points) - 1)

    def y(v: float) -> float:
        return height - pad - (v - low) / (1 - low or 1) * (height - 2 * pad)

    path = " ".join(f"{pad + i * step:.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    return (
        f"<svg width='{width}' height='{height}' role='img' aria-label='trend'>"
        f"<line x1='{pad}' y1='{y(1):.1f}' x2='{width - pad}' y2='{y(1):.1f}' stroke='#ddd'/>"
        f"<text x='0' y='{y(1) + 4:.1f}'>100%</text>"
        f"<text x='0' y='{y(low) + 4:.1f}'>{low:.0%}</text>"
        f"<polyline fill='none' stroke='#36c' stroke-width='1.5' points='{path}'/>"
        f"<text x='{pad}' y='{height - 5}'>{html.escape(points[0][0])}</text>"
        f"<text x='{width - pad - 70}' y='{height - 5}'>{html.escape(points[-1][0])}</text>"
        "</svg>"
    )


def _volume_table(volume: list[dict[str, Any]]) -> str:
    if not volume:
        return "<p>None.</p>"
    rows = "".join(
        f"<tr><td class=l>{html.escape(v['source'])}</td><td>{v['day']}</td>"
        f"<td class=l>{v['kind']}</td><td>{v['observed']}</td><td>{v['usual']:g}</td></tr>"
        for v in volume
    )
    return (
        "<table><tr><th class=l>source</th><th>day</th><th class=l>kind</th>"
        f"<th>records</th><th>usual</th></tr>{rows}</table>"
    )


def _worst_table(worst: list[dict[str, Any]]) -> str:
    if not worst:
        return "<p>No findings.</p>"
    e = html.escape
    rows = []
    for w in worst:
        examples = "<br>".join(
            f"{e(x['source'])} {e(x['day'])} {e(str(x['id_masked'] or ''))} "
            f"{e(str(x['name_masked'] or ''))}: {e(x['message'][:160])}"
            for x in w["examples"]
        )
        rows.append(
            f"<tr><td class=l>{e(w['rule_id'])}</td><td class=l>{e(str(w['dimension']))}</td>"
            f"<td class=l>{e(str(w['severity']))}</td><td>{w['count']:,}</td>"
            f"<td class=l>{examples}</td></tr>"
        )
    return (
        "<table><tr><th class=l>rule</th><th class=l>dimension</th><th class=l>severity</th>"
        "<th>records</th><th class=l>examples (masked)</th></tr>" + "".join(rows) + "</table>"
    )


def _source_table(sources: list[dict[str, Any]]) -> str:
    dims = [d.value for d in Dimension]
    head = "".join(f"<th>{d.replace('_', ' ')}</th>" for d in dims)
    rows = []
    for s in sources:
        cells = "".join(
            f"<td>{'' if s['scores'][d] is None else format(s['scores'][d], '.1%')}</td>"
            for d in dims
        )
        rows.append(
            f"<tr><td class=l>{html.escape(s['source'])}</td><td>{s['received']:,}</td>"
            f"<td>{s['quarantined']:,}</td><td>{s['duplicates']:,}</td>{cells}</tr>"
        )
    return (
        "<table><tr><th class=l>source</th><th>received</th><th>quarantined</th>"
        f"<th>duplicates</th>{head}</tr>" + "".join(rows) + "</table>"
    )


def rules_json() -> list[dict[str, str]]:
    return [_rule_json(r.id) for r in RULES]
