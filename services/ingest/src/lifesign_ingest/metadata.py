"""Metadata management (R-8.2.3): the source catalogue as something to list and search,
with each source's fields and the ways its data can reach ingest (R-7.3.1, R-8.2.2).
Pure functions over :mod:`lifesign.catalogue`; volumes and jobs come from the repository.
"""

from __future__ import annotations

from typing import Any

from lifesign.catalogue import CATALOGUE, Source
from lifesign_ingest.service import FEED_COLUMNS

#: Quality scores over time belong to the quality service (R-8.2.3.2); ingest links there.
QUALITY_REPORT = {
    "service": "quality",
    "json": "/report?from={from}&to={to}",
    "html": "/report.html?from={from}&to={to}",
    "note": "per source and period: every dimension's score, worst rules, trends",
}


def summary(source: Source) -> dict[str, Any]:
    return {
        "code": source.code,
        "name_zh": source.name_zh,
        "name_en": source.name_en,
        "department_zh": source.department_zh,
        "department_en": source.department_en,
        "structure": source.structure.value,
        "evidence": source.evidence.value,
        "loss_kind": source.loss_kind.value if source.loss_kind else None,
        "method": source.method.value if source.method else None,
        "expected_delay_days": source.expected_delay_days,
        "clause": source.clause,
        "feed_topic": source.feed_topic,
        "fields": len(source.fields),
    }


def detail(source: Source) -> dict[str, Any]:
    """A source's description, its fields and how its data can be sent."""
    common = [
        {"name": name, "name_zh": zh, "required": required, "common": True}
        for name, zh, required in FEED_COLUMNS
    ]
    own = [
        {
            "name": f.name,
            "name_zh": f.name_zh,
            "type": f.type.value,
            "required": f.required,
            "description": f.description,
            "domain": list(f.domain),
            "common": False,
        }
        for f in source.fields
    ]
    return {
        **summary(source),
        "record_fields": common + own,
        "channels": {
            "kafka": source.feed_topic,
            "upload": f"/feeds/{source.code}/upload?format=csv|jsonl&encoding=utf-8|gbk",
            "csv_header": [name for name, _, _ in FEED_COLUMNS] + [f.name for f in source.fields],
            "csv_header_zh": [zh for _, zh, _ in FEED_COLUMNS] + [f.name_zh for f in source.fields],
            "pull_jobs": f"/jobs?source={source.code}",
        },
        "volume": f"/catalogue/{source.code}/volume",
        "quality_report": QUALITY_REPORT,
    }


def search(
    query: str | None = None,
    *,
    department: str | None = None,
    evidence: str | None = None,
    structure: str | None = None,
) -> list[Source]:
    """Sources matching every given filter; ``query`` looks (case-insensitively) in the
    code, the Chinese and English names, the department and the field names."""
    found = []
    needle = (query or "").strip().lower()
    for source in CATALOGUE.values():
        if evidence and source.evidence.value != evidence:
            continue
        if structure and source.structure.value != structure:
            continue
        if department and department.lower() not in _department_text(source):
            continue
        if needle and needle not in _text(source):
            continue
        found.append(source)
    return found


def _department_text(source: Source) -> str:
    return f"{source.department_zh} {source.department_en}".lower()


def _text(source: Source) -> str:
    fields = " ".join(f"{f.name} {f.name_zh} {f.description}" for f in source.fields)
    return (
        f"{source.code} {source.name_zh} {source.name_en} {_department_text(source)} {fields}"
    ).lower()
