"""The evaluation as a self-contained HTML page: tables and inline SVG charts.

No JavaScript, no external style sheets, fonts or images: the page can be mailed or
archived as one file. Every text that comes from the metrics is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from lifesign_sim.evaluate import AGE_BANDS, PLATFORM_STATUSES, REQUIRED_KEYS, TRUTH_STATUSES

__all__ = ["render_html"]

#: Headline figures: key -> (English, Chinese, kind of number).
HEADLINES: dict[str, tuple[str, str, str]] = {
    "living_wrongly_suspended": ("Living wrongly suspended", "有直接证据却被暂停发放", "count"),
    "living_wrongly_suspended_person_days": (
        "Person-days wrongly suspended",
        "错误暂停人天数",
        "count",
    ),
    "living_suspended_without_evidence": (
        "Living suspended, no evidence (R-7.9)",
        "无认证被暂停的在世人员",
        "count",
    ),
    "deaths": ("Deaths in the period", "期间死亡人数", "count"),
    "deaths_reported": ("Deaths reported by a department", "有部门报送的死亡", "count"),
    "deaths_suspended": ("Deaths detected (suspended)", "已暂停发放的死亡", "count"),
    "deaths_missed": ("Reported deaths never suspended", "已报送但未暂停的死亡", "count"),
    "death_to_suspension_days_p50": (
        "Death to suspension, median days",
        "死亡到暂停中位天数",
        "days",
    ),
    "death_to_suspension_days_p95": ("Death to suspension, p95 days", "死亡到暂停P95天数", "days"),
    "improper_payment_yuan": ("Improper payments (yuan)", "冒领/多发金额（元）", "yuan"),
    "improper_payment_recovered_yuan": ("… of which recoverable", "其中可追回（元）", "yuan"),
    "improper_payment_months": ("Improper monthly payments", "多发月数", "count"),
    "big_data_certified_share": ("Certified by big data", "大数据认证比例", "share"),
    "living_asked_to_act": ("Living asked to act", "被要求主动认证的在世人员", "count"),
    "clean_records_quarantined_share": (
        "Clean records rejected or quarantined",
        "干净记录被拒收或隔离比例",
        "share",
    ),
}

STATUS_LABELS: dict[str, str] = {
    "eligible": "eligible 具备资格",
    "warning": "warning 预警",
    "pending": "pending 待核实",
    "suspended": "suspended 暂停发放",
    "lost": "lost 丧失资格",
    "unknown": "unknown 未知",
    "alive": "alive 在世",
    "not_started": "not started 未开始领取",
    "imprisoned": "imprisoned 服刑",
    "dead": "dead 死亡",
}

_COLOURS = ("#3465a4", "#cc0000", "#73d216", "#f57900", "#75507b", "#555753")

_STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif; margin: 2em auto;
       max-width: 1000px; color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td.label, th.label { text-align: left; }
td.total, th.total { font-weight: bold; background: #fafafa; }
td.diag { background: #e8f4e0; }
svg { display: block; margin: 0.5em 0 1em; } svg text { font-size: 12px; fill: #222; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
.muted { color: #666; } code { font-size: 0.95em; }
"""


def render_html(metrics: dict[str, Any]) -> str:
    """A readable, self-contained HTML page of an :func:`~lifesign_sim.evaluate.evaluate`
    result: headline figures, the final confusion matrix and charts."""
    period = metrics.get("period") or {}
    title = f"lifesign evaluation 评估报告 {period.get('start', '?')} – {period.get('end', '?')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="muted">{_e(_fmt_count(metrics.get("persons")))} pensioners 领取待遇人员; '
        "platform decisions compared with the simulator's ground truth.</p>",
        _headlines(metrics),
        _confusion_section(metrics.get("confusion_final")),
        _timeline_section(metrics.get("timeline")),
        _deaths_section(metrics),
        _certification_section(metrics.get("certified_share_by_method")),
        _burden_section(metrics.get("burden")),
        _defects_section(metrics),
        _notes_section(metrics.get("notes")),
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


def _headlines(metrics: dict[str, Any]) -> str:
    rows = []
    keys = list(HEADLINES) + [k for k in REQUIRED_KEYS if k not in HEADLINES]
    for key in keys:
        if key not in metrics:
            continue
        english, chinese, kind = HEADLINES.get(key, (key, "", "count"))
        if key == "defect_recall":
            english, chinese, kind = "Defect recall", "缺陷处理召回率", "recall"
        rows.append(
            f'<tr><td class="label">{_e(english)}</td><td class="label">{_e(chinese)}</td>'
            f'<td class="label"><code>{_e(key)}</code></td>'
            f"<td>{_e(_fmt(metrics[key], kind))}</td></tr>"
        )
    return (
        "<h2>Headline figures 主要指标</h2><table>"
        '<tr><th class="label">Figure</th><th class="label">指标</th>'
        '<th class="label">Key</th><th>Value</th></tr>' + "".join(rows) + "</table>"
    )


def _confusion_section(matrix: Any) -> str:
    if not isinstance(matrix, dict):
        return ""
    columns = list(PLATFORM_STATUSES)
    header = "".join(f"<th>{_e(STATUS_LABELS.get(c, c))}</th>" for c in columns)
    rows = []
    column_totals = [0] * len(columns)
    for truth in TRUTH_STATUSES:
        row = matrix.get(truth) or {}
        values = [int(row.get(c, 0)) for c in columns]
        column_totals = [a + b for a, b in zip(column_totals, values, strict=True)]
        cells = "".join(
            (
                f'<td class="diag">{_fmt_count(v)}</td>'
                if _agrees(truth, c)
                else f"<td>{_fmt_count(v)}</td>"
            )
            for c, v in zip(columns, values, strict=True)
        )
        rows.append(
            f'<tr><th class="label">{_e(STATUS_LABELS.get(truth, truth))}</th>{cells}'
            f'<td class="total">{_fmt_count(sum(values))}</td></tr>'
        )
    totals = "".join(f'<td class="total">{_fmt_count(v)}</td>' for v in column_totals)
    rows.append(
        f'<tr><th class="label total">total 合计</th>{totals}'
        f'<td class="total">{_fmt_count(sum(column_totals))}</td></tr>'
    )
    return (
        "<h2>Truth × platform status at the end 期末真实状态 × 平台状态</h2>"
        '<p class="muted">Rows: what really was; columns: the platform\'s status on the last '
        "day. Shaded cells agree.</p>"
        f'<table><tr><th class="label">truth \\ platform</th>{header}'
        '<th class="total">total 合计</th></tr>' + "".join(rows) + "</table>"
    )


def _agrees(truth: str, platform: str) -> bool:
    if truth in ("alive", "not_started"):
        return platform in ("eligible", "warning")
    return platform == "lost"


def _timeline_section(timeline: Any) -> str:
    if not isinstance(timeline, list) or not timeline:
        return ""
    labels = [str(point.get("date", "")) for point in timeline]
    pending = [float(point.get("living_pending", 0)) for point in timeline]
    suspended = [float(point.get("living_suspended", 0)) for point in timeline]
    both = [a + b for a, b in zip(pending, suspended, strict=True)]
    chart = _line_chart(
        "Living people pending or suspended, at month ends 在世人员待核实/暂停发放",
        labels,
        [
            ("pending + suspended 待核实+暂停", both),
            ("suspended 暂停发放", suspended),
        ],
    )
    return "<h2>Living people the platform doubts 平台存疑的在世人员</h2>" + chart


def _deaths_section(metrics: dict[str, Any]) -> str:
    delays = _bar_chart(
        "Death to suspension (days) 死亡到暂停天数",
        [
            ("median p50", _number(metrics.get("death_to_suspension_days_p50"))),
            ("p95", _number(metrics.get("death_to_suspension_days_p95"))),
        ],
        lambda v: f"{v:,.1f} d",
    )
    money = _bar_chart(
        "Improper payments (yuan) 多发金额（元）",
        [
            ("paid after death 多发", _number(metrics.get("improper_payment_yuan"))),
            ("recoverable 可追回", _number(metrics.get("improper_payment_recovered_yuan"))),
        ],
        lambda v: f"{v:,.2f}",
    )
    return (
        "<h2>Deaths and improper payments 死亡发现与多发待遇</h2>"
        f'<div class="charts">{delays}{money}</div>'
        '<p class="muted">Recoverable: the agency learnt of the death (payments suspended by '
        "the end) and reclaims the overpayment from the estate.</p>"
    )


def _certification_section(shares: Any) -> str:
    if not isinstance(shares, dict):
        return ""
    bars = [(str(method), _number(value)) for method, value in shares.items()]
    chart = _bar_chart(
        "Living at the end, by method of the last proof of life in the period 认证方式",
        bars,
        _fmt_share,
        maximum=1.0,
    )
    return "<h2>Certification 认证方式</h2>" + chart


def _burden_section(burden: Any) -> str:
    if not isinstance(burden, dict):
        return ""
    ages = burden.get("by_age_band") or {}
    areas = burden.get("by_area") or {}
    age_bars = [(band, _number((ages.get(band) or {}).get("share"))) for band in AGE_BANDS]
    area_labels = {"urban": "urban 城镇", "rural": "rural 农村"}
    area_bars = [
        (area_labels.get(a, a), _number((areas.get(a) or {}).get("share")))
        for a in ("urban", "rural")
    ]
    charts = (
        '<div class="charts">'
        + _bar_chart("Share asked to act, by age 按年龄", age_bars, _fmt_share, maximum=1.0)
        + _bar_chart("… by area 按城乡", area_bars, _fmt_share, maximum=1.0)
        + "</div>"
    )
    regions = burden.get("by_region") or {}
    ranked = sorted(regions.items(), key=lambda kv: -int((kv[1] or {}).get("living", 0)))[:30]
    rows = "".join(
        f'<tr><td class="label">{_e(region)}</td><td>{_fmt_count(v.get("living"))}</td>'
        f"<td>{_fmt_count(v.get('asked_to_act'))}</td><td>{_fmt_share(v.get('share'))}</td></tr>"
        for region, v in ranked
        if isinstance(v, dict)
    )
    table = (
        '<table><tr><th class="label">region 地区</th><th>living</th><th>asked to act</th>'
        f"<th>share</th></tr>{rows}</table>"
        if rows
        else ""
    )
    return (
        "<h2>Burden on living people 在世人员负担</h2>"
        f'<p class="muted">{_fmt_count(burden.get("asked_to_act"))} of '
        f"{_fmt_count(burden.get('living'))} people alive throughout were pending or suspended "
        f"at some time ({_fmt_share(burden.get('share'))}).</p>" + charts + table
    )


def _defects_section(metrics: dict[str, Any]) -> str:
    recall = metrics.get("defect_recall")
    parts = ["<h2>Feed defects 数据缺陷处理</h2>"]
    if isinstance(recall, dict) and recall:
        bars = [(str(d), _number(v)) for d, v in recall.items()]
        parts.append(
            _bar_chart("Recall: share handled as expected 召回率", bars, _fmt_share, maximum=1.0)
        )
    records = metrics.get("records")
    if isinstance(records, dict) and isinstance(records.get("by_expected"), dict):
        rows = "".join(
            f'<tr><td class="label">{_e(k)}</td><td>{_fmt_count(v)}</td></tr>'
            for k, v in records["by_expected"].items()
        )
        parts.append(
            '<table><tr><th class="label">expected 预期处理</th><th>records</th></tr>'
            f'{rows}<tr><td class="label total">total</td>'
            f'<td class="total">{_fmt_count(records.get("total"))}</td></tr></table>'
        )
    return "".join(parts) if len(parts) > 1 else ""


def _notes_section(notes: Any) -> str:
    if not isinstance(notes, list) or not notes:
        return ""
    items = "".join(f"<li>{_e(note)}</li>" for note in notes)
    return f"<h2>Notes 说明</h2><ul>{items}</ul>"


# ---------------------------------------------------------------------------
# Charts (inline SVG)
# ---------------------------------------------------------------------------


def _bar_chart(
    title: str,
    bars: Sequence[tuple[str, float | None]],
    fmt: Callable[[float], str],
    *,
    maximum: float | None = None,
) -> str:
    """Horizontal bars, one per (label, value); a None value is shown as n/a."""
    label_w, bar_w, value_w, row_h, top = 190, 300, 90, 24, 28
    width = label_w + bar_w + value_w
    height = top + row_h * max(len(bars), 1) + 8
    known = [v for _, v in bars if v is not None]
    scale = maximum if maximum is not None else max(known, default=0.0)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{_e(title)}">',
        f'<text x="0" y="16" font-weight="bold">{_e(title)}</text>',
    ]
    for k, (label, value) in enumerate(bars):
        y = top + k * row_h
        out.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end">{_e(label)}</text>')
        out.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 6}" fill="#eee"/>'
        )
        if value is None:
            text = "n/a"
        else:
            length = bar_w * min(max(value / scale, 0.0), 1.0) if scale > 0 else 0.0
            colour = _COLOURS[k % len(_COLOURS)]
            out.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" '
                f'fill="{colour}"/>'
            )
            text = fmt(value)
        out.append(f'<text x="{label_w + bar_w + 6}" y="{y + 16}">{_e(text)}</text>')
    out.append("</svg>")
    return "".join(out)


def _line_chart(
    title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
) -> str:
    """Lines over the labelled x positions, with a zero-based y axis and a legend."""
    width, height = 720, 300
    left, right, top, bottom = 70, 20, 50, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((v for _, values in series for v in values), default=0.0)
    y_max = _nice_ceiling(peak)
    n = len(labels)

    def x(k: int) -> float:
        return left + (plot_w * k / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / y_max

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{_e(title)}">',
        f'<text x="0" y="16" font-weight="bold">{_e(title)}</text>',
    ]
    for t in range(5):
        value = y_max * t / 4
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            'stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">'
            f"{_e(_fmt_count(value))}</text>"
        )
    step = max(1, math.ceil(n / 12))
    for k, label in enumerate(labels):
        if k % step == 0 or k == n - 1:
            out.append(
                f'<text x="{x(k):.1f}" y="{top + plot_h + 16}" text-anchor="end" '
                f'transform="rotate(-35 {x(k):.1f} {top + plot_h + 16})">{_e(label)}</text>'
            )
    for s, (name, values) in enumerate(series):
        colour = _COLOURS[s % len(_COLOURS)]
        points = " ".join(f"{x(k):.1f},{y(v):.1f}" for k, v in enumerate(values))
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out.extend(
            f'<circle cx="{x(k):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
            f"<title>{_e(labels[k])}: {_e(_fmt_count(v))}</title></circle>"
            for k, v in enumerate(values)
        )
        lx = left + s * 260
        out.append(
            f'<rect x="{lx}" y="26" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 18}" y="37">{_e(name)}</text>'
        )
    out.append(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#888"/>'
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'stroke="#888"/></svg>'
    )
    return "".join(out)


def _nice_ceiling(value: float) -> float:
    """A round number at least ``value`` (1, 2, 2.5 or 5 times a power of ten), at least 1."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * power:
            return float(factor * power)
    return float(10 * power)


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "share":
        return _fmt_share(value)
    if kind == "recall":
        if not isinstance(value, dict):
            return str(value)
        return ", ".join(f"{d} {_fmt_share(v)}" for d, v in value.items()) or "n/a"
    if kind == "yuan":
        return f"¥{value:,.2f}" if isinstance(value, int | float) else str(value)
    if kind == "days":
        return f"{value:,.1f}" if isinstance(value, int | float) else str(value)
    return _fmt_count(value)


def _fmt_count(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a" if value is None else str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _fmt_share(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "n/a"
    return f"{value:.1%}"
