"""Department records: what each source publishes about an event, and the defects of
real feeds, each labelled for the ground truth.

A record is one JSON line in the department's format (:class:`lifesign.events.FeedRecord`
with ``reported_at``). Each record carries at most one defect, drawn at the configured
rate among the records the defect can apply to (a traditional-character name needs a
character that has a traditional form; a death-name mismatch needs a death record).
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import orjson

from lifesign.catalogue import CATALOGUE, EvidenceClass, FieldType, Source
from lifesign_sim.formats import EXPECTED_FOR, Defect, Expected, RecordKind

#: Simplified -> traditional for common surname and given-name characters.
TRADITIONAL = str.maketrans(
    "张刘陈杨黄赵吴孙马罗郑谢许韩冯邓肖蒋叶苏吕卢钟谭陆贾韦邹龙顾龚万钱严国华军红丽兰凤云荣发宝东伟刚庆贵静杰涛辉强汉义礼书兴长乐爱晓"
    "玉鸿达胜",
    "張劉陳楊黃趙吳孫馬羅鄭謝許韓馮鄧蕭蔣葉蘇呂盧鍾譚陸賈韋鄒龍顧龔萬錢嚴國華軍紅麗蘭鳳雲榮發寶東偉剛慶貴靜傑濤輝強漢義禮書興長樂愛曉"
    "鈺鴻達勝",
)
#: Characters a clerk may type instead (for the name-typo defect).
TYPO_CHARACTERS = "秀英华国明芳军平伟丽玉兰红梅桂珍云"
OTHER_NAMES = ("李建华", "王桂兰", "刘玉珍", "陈志强", "赵淑英", "周国庆", "吴秀云", "孙德胜")
UNKNOWN_SOURCES = ("street_lamp_sensor", "private_gym_checkin")
_FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
DEATH_SOURCES = frozenset(
    {"funeral_cremation", "medical_death_certificate", "household_cancellation"}
)


@dataclass(frozen=True)
class DefectConfig:
    """Per-record rates of each defect, among the records it can apply to."""

    rates: dict[Defect, float] = field(
        default_factory=lambda: {
            Defect.WRONG_CHECK_DIGIT: 0.002,
            Defect.ID_15_DIGIT: 0.002,
            Defect.FULL_WIDTH: 0.002,
            Defect.TRADITIONAL_NAME: 0.002,
            Defect.NAME_TYPO: 0.001,
            Defect.DEATH_NAME_MISMATCH: 0.02,
            Defect.EXACT_DUPLICATE: 0.003,
            Defect.NEAR_DUPLICATE: 0.002,
            Defect.MISSING_KEY_FIELD: 0.002,
            Defect.OUT_OF_DOMAIN: 0.002,
            Defect.FUTURE_TIMESTAMP: 0.001,
            Defect.ABSURD_TIMESTAMP: 0.001,
            Defect.MALFORMED_JSON: 0.001,
            Defect.UNKNOWN_SOURCE: 0.0005,
        }
    )
    late_batch_share: float = 0.01  # of (source, day) batches, delayed 30-60 days
    silent_days: int = 7  # one source, chosen by the seed, silent for a week

    def rate(self, defect: Defect) -> float:
        return self.rates.get(defect, 0.0)


@dataclass(slots=True)
class Record:
    """One record before it is written: its line and its truth."""

    source: str
    record_id: str
    person_id: str
    occurred_at: str  # ISO, Beijing time
    reported_at: str
    kind: RecordKind
    defect: Defect | None
    expected: Expected
    line: bytes

    def truth_row(self) -> str:
        return ",".join(
            (
                self.record_id,
                self.source,
                self.person_id,
                self.occurred_at,
                self.reported_at,
                self.kind.value,
                self.defect.value if self.defect else "",
                self.expected.value,
            )
        )


@dataclass(slots=True)
class Event:
    """What happened, before it becomes a record."""

    source: str
    record_id: str
    person_id: str
    id_number: str
    name: str
    region: str
    occurred: datetime
    reported: datetime
    kind: RecordKind
    attributes: dict[str, Any]


FieldPlan = tuple[tuple[str, FieldType, bool, tuple[str, ...]], ...]


@cache
def _plan(code: str) -> FieldPlan:
    # Plain tuples: this runs for every record, and enum attribute access is slow.
    return tuple((f.name, f.type, f.required, f.domain) for f in CATALOGUE[code].fields)


def attributes_for(source: Source, occurred: datetime, draw: int, **known: Any) -> dict[str, Any]:
    """Valid source-specific fields; ``known`` overrides (death dates, prison dates)."""
    values: dict[str, Any] = {}
    day = occurred.date()
    optional_out = draw % 3 == 0  # optional fields are often left out
    for name, kind, required, domain in _plan(source.code):
        if name in known:
            values[name] = known[name]
        elif required or not optional_out:
            values[name] = _value(kind, domain, name, day, draw)
    return values


def _value(kind: FieldType, domain: tuple[str, ...], name: str, day: date, draw: int) -> Any:
    if kind is FieldType.ENUM:
        return domain[0] if draw % 4 else domain[draw % len(domain)]
    if kind is FieldType.DATE:
        if name in ("discharge_date", "expected_release", "end_date", "released_on"):
            return (day + timedelta(days=3 + draw % 12)).isoformat()
        return day.isoformat()
    if kind is FieldType.DATETIME:
        return f"{day.isoformat()}T10:00:00"
    if kind is FieldType.DECIMAL:
        return f"{(draw % 90000) / 100 + 1:.2f}"
    if kind is FieldType.INTEGER:
        return 1 + draw % 4
    if kind is FieldType.BOOLEAN:
        return True
    return f"{name[:3].upper()}{draw % 1000003:07d}"


def make_record(
    event: Event,
    defect: Defect | None = None,
    expected: Expected = Expected.ACCEPT,
    kind: RecordKind | None = None,
) -> Record:
    """The record an event becomes: its JSON line (the department's format) and truth."""
    occurred, reported = event.occurred.isoformat(), event.reported.isoformat()
    # reported_at first, then record_id: the lines sort by (publication time, record id)
    # as plain bytes, which is how the writer orders the feeds without parsing them.
    line = orjson.dumps(
        {
            "reported_at": reported,
            "record_id": event.record_id,
            "id_type": "01",
            "id_number": event.id_number,
            "name": event.name,
            "occurred_at": occurred,
            "region": event.region,
            "attributes": event.attributes,
        }
    )
    return Record(
        event.source,
        event.record_id,
        event.person_id,
        occurred,
        reported,
        kind or event.kind,
        defect,
        expected,
        line,
    )


def clean_record(event: Event) -> Record:
    return make_record(event)


class Defects:
    """Draws and applies at most one defect per record (deterministic per generator)."""

    def __init__(self, config: DefectConfig, rng: np.random.Generator) -> None:
        self._config = config
        self._rng = rng
        self._order = [d for d in Defect if config.rate(d) > 0]
        self._cumulative = [float(c) for c in np.cumsum([config.rate(d) for d in self._order])]

    def records(self, event: Event) -> list[Record]:
        """The record(s) an event becomes: usually one; a duplicate defect adds a copy."""
        u = float(self._rng.random())
        index = bisect.bisect_right(self._cumulative, u)
        if index >= len(self._order):
            return [clean_record(event)]
        defect = self._order[index]
        applied = self._apply(defect, event)
        return applied if applied is not None else [clean_record(event)]

    def _apply(self, defect: Defect, event: Event) -> list[Record] | None:
        rng = self._rng
        source = CATALOGUE[event.source]
        e = event
        if defect is Defect.WRONG_CHECK_DIGIT:
            last = e.id_number[-1]
            wrong = "0" if last != "0" else "1"
            return [_labelled(_replace(e, id_number=e.id_number[:17] + wrong), defect)]
        if defect is Defect.ID_15_DIGIT:
            short = e.id_number[:6] + e.id_number[8:17]
            return [_labelled(_replace(e, id_number=short), defect)]
        if defect is Defect.FULL_WIDTH:
            return [_labelled(_replace(e, id_number=e.id_number.translate(_FULL_WIDTH)), defect)]
        if defect is Defect.TRADITIONAL_NAME:
            traditional = e.name.translate(TRADITIONAL)
            if traditional == e.name:
                return None
            return [_labelled(_replace(e, name=traditional), defect)]
        if defect is Defect.NAME_TYPO:
            position = int(rng.integers(0, len(e.name)))
            typo = TYPO_CHARACTERS[int(rng.integers(0, len(TYPO_CHARACTERS)))]
            if e.name[position] == typo or e.name[position] == "·":
                return None
            name = e.name[:position] + typo + e.name[position + 1 :]
            expected = (
                Expected.REVIEW
                if source.evidence is EvidenceClass.DIRECT_LOST
                else Expected.UNMATCHED
            )
            return [_labelled(_replace(e, name=name), defect, expected)]
        if defect is Defect.DEATH_NAME_MISMATCH:
            if e.source not in DEATH_SOURCES:
                return None
            other = OTHER_NAMES[int(rng.integers(0, len(OTHER_NAMES)))]
            if other == e.name:
                return None
            return [_labelled(_replace(e, name=other), defect)]
        if defect is Defect.EXACT_DUPLICATE:
            # Byte for byte the same record, sent twice in the same batch.
            return [clean_record(e), _labelled(e, defect, kind=RecordKind.NOISE)]
        if defect is Defect.NEAR_DUPLICATE:
            copy = _replace(
                e,
                record_id=e.record_id + "-R",
                reported=e.reported + timedelta(days=int(rng.integers(1, 4))),
            )
            return [clean_record(e), _labelled(copy, defect, kind=RecordKind.NOISE)]
        if defect is Defect.MISSING_KEY_FIELD:
            required = [f.name for f in source.fields if f.required and f.name in e.attributes]
            if not required:
                return None
            attributes = dict(e.attributes)
            del attributes[required[int(rng.integers(0, len(required)))]]
            return [_labelled(_replace(e, attributes=attributes), defect)]
        if defect is Defect.OUT_OF_DOMAIN:
            coded = [
                f
                for f in source.fields
                if f.name in e.attributes and f.type in (FieldType.ENUM, FieldType.DATE)
            ]
            if not coded:
                return None
            spec = coded[int(rng.integers(0, len(coded)))]
            bad = "unknown_code" if spec.type is FieldType.ENUM else f"{e.occurred.year}-02-30"
            return [_labelled(_replace(e, attributes={**e.attributes, spec.name: bad}), defect)]
        if defect is Defect.FUTURE_TIMESTAMP:
            ahead = e.reported + timedelta(days=int(rng.integers(10, 400)))
            return [_labelled(_replace(e, occurred=ahead), defect)]
        if defect is Defect.ABSURD_TIMESTAMP:
            absurd = e.occurred.replace(year=int(rng.integers(1850, 1900)), month=1, day=1)
            return [_labelled(_replace(e, occurred=absurd), defect)]
        if defect is Defect.MALFORMED_JSON:
            record = _labelled(e, defect)
            text = record.line.decode()
            # Cut on a character boundary, after the sort prefix (time and record id).
            cut = int(rng.integers(70, max(71, len(text) - 5)))
            record.line = text[:cut].encode()
            return [record]
        if defect is Defect.UNKNOWN_SOURCE:
            unknown = UNKNOWN_SOURCES[int(rng.integers(0, len(UNKNOWN_SOURCES)))]
            record = _labelled(_replace(e, source=unknown), defect, kind=RecordKind.NOISE)
            return [record]
        return None


def _replace(event: Event, **changes: Any) -> Event:
    values = {name: getattr(event, name) for name in Event.__slots__}
    values.update(changes)
    return Event(**values)


def _labelled(
    event: Event,
    defect: Defect,
    expected: Expected | None = None,
    kind: RecordKind | None = None,
) -> Record:
    return make_record(event, defect, expected or EXPECTED_FOR[defect], kind)


@cache
def batch_delay_days(seed: int, source: str, day: date, share: float) -> int:
    """Late batches: a deterministic choice per (source, day), the same in every chunk."""
    digest = hashlib.blake2b(f"{seed}/{source}/{day}".encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    if (value % 1_000_000) / 1_000_000 >= share:
        return 0
    return 30 + (value >> 20) % 31


def silent_source(seed: int, start: date, days: int) -> tuple[str, date, date]:
    """The source that goes silent for a week, and when (deterministic per seed)."""
    digest = hashlib.blake2b(f"{seed}/silent".encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    busy = ("outpatient_settlement", "pharmacy_purchase", "social_security_card_transaction")
    source = busy[value % len(busy)]
    first = start + timedelta(days=int((value >> 8) % max(1, days - 14)))
    return source, first, first + timedelta(days=7)
