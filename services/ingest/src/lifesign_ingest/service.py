"""Ingest's domain logic, pure: normalise department records and registry rows.

Normalisation comes before anything else (R-7.3.2): id numbers by the shared rules,
names (NFKC, middle dot, traditional to simplified: :mod:`lifesign.names`), timestamps to
Asia/Shanghai, region codes against GB/T 2260.
Plaintext identity leaves this module only as keyed pseudonyms, masks and ciphertext.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_json

from lifesign.bus import describe_error
from lifesign.catalogue import FieldType, Source
from lifesign.events import (
    BenefitStatus,
    FeedRecord,
    InsuranceType,
    LifeEvent,
    PensionerRecord,
    PersonRef,
    Provenance,
    event_id_for,
)
from lifesign.identity import (
    FieldCipher,
    InvalidIdNumber,
    Pseudonymizer,
    is_known_region,
    mask_id_number,
    mask_name,
    normalize_id_number,
    sex_of,
)
from lifesign.names import name_similarity, normalise_name
from lifesign.settings import TIMEZONE

RESIDENT_ID_CARD = "01"


class RecordRejected(ValueError):
    """A record that cannot be normalised; the message is the reason, per field."""


@dataclass(frozen=True, slots=True)
class Identity:
    """A normalised person identity and its pseudonymous forms."""

    id_number: str
    name: str
    person: PersonRef


def normalize_identity(
    id_type: str, id_number: str, name: str, *, pseudonymizer: Pseudonymizer, today: date
) -> Identity:
    id18, clean_name, person = _identity_values(
        id_type, id_number, name, pseudonymizer=pseudonymizer, today=today
    )
    return Identity(id18, clean_name, PersonRef.model_validate(person))


def _identity_values(
    id_type: str, id_number: str, name: str, *, pseudonymizer: Pseudonymizer, today: date
) -> tuple[str, str, dict[str, str]]:
    """The canonical id and name, and the fields of their :class:`PersonRef`."""
    if id_type != RESIDENT_ID_CARD:
        raise RecordRejected(f"id_type: only resident id cards (01) are supported, got {id_type!r}")
    try:
        id18 = normalize_id_number(id_number, today=today)
    except InvalidIdNumber as error:
        raise RecordRejected(f"id_number: {error}") from error
    clean_name = normalise_name(name)
    if not clean_name:
        raise RecordRejected("name: empty after normalisation")
    person = {
        "pseudonym": pseudonymizer.person_of_normalised(id18),
        "name_digest": pseudonymizer.name_of_normalised(clean_name),
        "id_type": id_type,
        "id_masked": mask_id_number(id18),
        "name_masked": mask_name(clean_name),
    }
    return id18, clean_name, person


def warm_up() -> None:
    """Load what normalisation needs before the first record, not during it: every GB/T
    2260 revision (about a second), OpenCC's and pypinyin's dictionaries. The service does
    this while it is wired, so its consumer freezes them with the rest of the start-up heap
    (``lifesign.bus.settle_garbage_collector``)."""
    is_known_region("110000")
    name_similarity("張三", "章三")


def to_local(moment: datetime) -> datetime:
    """Timestamps to Asia/Shanghai; a naive timestamp is taken to be Beijing time already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=TIMEZONE)
    return moment.astimezone(TIMEZONE)


def check_region(field: str, code: str | None) -> str | None:
    if code is None or code == "":
        return None
    if not is_known_region(code):
        raise RecordRejected(f"{field}: {code!r} is not a GB/T 2260 region code")
    return code


def normalize_record(
    record: FeedRecord,
    *,
    source: Source,
    provenance: Provenance,
    received_at: datetime,
    pseudonymizer: Pseudonymizer,
) -> LifeEvent:
    """A department record as a LifeEvent, or :class:`RecordRejected` with the reason."""
    return normalize_record_and_name(
        record,
        source=source,
        provenance=provenance,
        received_at=received_at,
        pseudonymizer=pseudonymizer,
    )[0]


def normalize_record_and_name(
    record: FeedRecord,
    *,
    source: Source,
    provenance: Provenance,
    received_at: datetime,
    pseudonymizer: Pseudonymizer,
) -> tuple[LifeEvent, str]:
    """:func:`normalize_record` and the canonical plaintext name, which ingest alone keeps
    for the R-7.3.3.2 name check against the registry (it never leaves the process)."""
    document, name = event_document(
        record,
        source=source,
        provenance=provenance,
        received_at=received_at,
        pseudonymizer=pseudonymizer,
    )
    return LifeEvent.model_validate(document), name


#: A :class:`LifeEvent` as the values of its fields, nested models as dicts: what
#: :func:`event_document` returns and :func:`encode_document` puts on the bus.
EventDocument = dict[str, Any]


def event_document(
    record: FeedRecord,
    *,
    source: Source,
    provenance: Provenance | dict[str, Any],
    received_at: datetime,
    pseudonymizer: Pseudonymizer,
) -> tuple[EventDocument, str]:
    """The normalisation itself (every channel's): the normalised record as the fields of
    its :class:`LifeEvent`, and the canonical plaintext name.

    Every value is already what the contract allows (a validated FeedRecord, ids and
    names normalised and checked here, pseudonyms of 64 hex digits, a catalogue source, a
    GB/T 2260 region, aware Beijing times), so the Kafka channel publishes the document
    as it is (:func:`encode_document`: the same bytes as ``LifeEvent.model_dump_json``,
    tested) instead of building four models per record and serialising them again (about
    20 µs a record); the other channels validate it into a LifeEvent
    (:func:`normalize_record_and_name`), so every test of those checks the document too.
    """
    _, name, person = _identity_values(
        record.id_type,
        record.id_number,
        record.name,
        pseudonymizer=pseudonymizer,
        today=received_at.astimezone(TIMEZONE).date(),
    )
    document = {
        "schema_version": 1,
        "event_id": event_id_for(source.code, record.record_id),
        "source": source.code,
        "person": person,
        "occurred_at": to_local(record.occurred_at),
        "received_at": received_at,
        "region": check_region("region", record.region),
        "attributes": record.attributes,
        "provenance": provenance,
        "name_check": None,
    }
    return document, name


def encode_document(document: EventDocument) -> bytes:
    """A document's JSON, as ``LifeEvent.model_dump_json`` writes it (pydantic's own
    serialiser, field order as declared)."""
    return to_json(document)


#: A department record is a few hundred bytes; anything above this is refused unread, so
#: a 10 MB message costs neither the JSON parser nor the dead-letter topic its size.
MAX_RECORD_BYTES = 64 * 1024


def parse_feed_record(raw: bytes) -> FeedRecord:
    """The decoder of feed topics: oversized, malformed JSON or a bad shape raises."""
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordRejected(
            f"record is {len(raw):,} bytes; the limit is {MAX_RECORD_BYTES:,} bytes"
        )
    return FeedRecord.model_validate_json(raw)


# --- feed files (CSV uploads) -------------------------------------------------------------

#: The common columns of a feed CSV: name, Chinese header accepted as an alias, required.
FEED_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("record_id", "记录编号", True),
    ("id_type", "证件类型", False),
    ("id_number", "证件号码", True),
    ("name", "姓名", True),
    ("occurred_at", "发生时间", True),
    ("region", "区划代码", False),
    ("reported_at", "报送时间", False),
)
_COMMON = {name for name, _, _ in FEED_COLUMNS}
_TRUE = {"true", "1", "y", "yes", "是"}
_FALSE = {"false", "0", "n", "no", "否"}


class HeaderRejected(ValueError):
    """A feed file whose header the source cannot take: nothing in it is ingested."""


def feed_header(source: Source, header: list[str]) -> list[str]:
    """The field names of a feed CSV's columns (English or Chinese headers), or
    :class:`HeaderRejected` naming the missing and unknown columns."""
    aliases = {zh: en for en, zh, _ in FEED_COLUMNS} | {f.name_zh: f.name for f in source.fields}
    known = _COMMON | {f.name for f in source.fields}
    names = [aliases.get(h.strip(), h.strip()) for h in header]
    required = [name for name, _, needed in FEED_COLUMNS if needed]
    required += [f.name for f in source.fields if f.required]
    missing = [name for name in required if name not in names]
    unknown = [h for h, name in zip(header, names, strict=True) if name not in known]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown columns: {', '.join(repr(h) for h in unknown)}")
    if duplicated:
        problems.append(f"duplicated columns: {', '.join(duplicated)}")
    if problems:
        raise HeaderRejected(f"wrong header for source {source.code}: " + "; ".join(problems))
    return names


def feed_record_from_row(source: Source, row: dict[str, str]) -> FeedRecord:
    """A CSV row as a FeedRecord: empty cells are absent, integer and boolean attributes
    typed as a department's JSON would carry them (anything else is left for quality's
    value-domain rule to judge, not rejected here)."""
    top: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for name, text in row.items():
        value = text.strip()
        if not value:
            continue
        if name in _COMMON:
            top[name] = value
        else:
            attributes[name] = _typed(source.field(name).type, value)
    try:
        return FeedRecord.model_validate({**top, "attributes": attributes})
    except ValidationError as error:
        raise RecordRejected(describe_error(error)) from error


def _typed(kind: FieldType, value: str) -> Any:
    if kind is FieldType.INTEGER and value.lstrip("-").isdigit():
        return int(value)
    if kind is FieldType.BOOLEAN and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    return value


# --- the pensioner registry (R-7.2) -------------------------------------------------------

#: R-7.2 base information: CSV column, Chinese header accepted as an alias, required.
REGISTRY_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("person_id", "个人编号", True),
    ("name", "姓名", True),
    ("id_type", "证件类型", False),
    ("id_number", "证件号码", True),
    ("sex", "性别", False),
    ("birth_date", "出生日期", False),
    ("phone", "本人电话", False),
    ("nationality", "国籍地区", False),
    ("household_registration_date", "户籍登记日期", False),
    ("registration_region", "户籍所在地区划代码", True),
    ("registration_street", "户籍所在街道乡镇", False),
    ("registration_address", "户籍地址", False),
    ("residence_region", "居住地区划代码", False),
    ("residence_street", "居住地街道乡镇", False),
    ("residence_address", "居住地址", False),
    ("retirement_date", "离退休日期", False),
    ("insurance_type", "险种类型", True),
    ("benefit_status", "待遇状态", True),
    ("benefit_start", "待遇开始日期", True),
    ("benefit_region", "待遇发放地区划代码", False),
    ("monthly_benefit", "月待遇金额", False),
    ("contact_name", "联系人姓名", False),
    ("contact_phone", "联系人电话", False),
    ("last_certified_on", "最近认证日期", False),
)
_ALIASES = {zh: en for en, zh, _ in REGISTRY_COLUMNS}
_PII_FIELDS = (
    "name",
    "id_number",
    "phone",
    "registration_address",
    "residence_address",
    "contact_name",
    "contact_phone",
    # Street (乡镇/街道) names: the push is addressed to the street office.
    "registration_street",
    "residence_street",
)
_INSURANCE_ALIASES = {
    "企业职工": InsuranceType.ENTERPRISE,
    "机关事业单位": InsuranceType.PUBLIC_INSTITUTION,
    "城乡居民": InsuranceType.URBAN_RURAL_RESIDENT,
    "遗属": InsuranceType.SURVIVOR,
}
_STATUS_ALIASES = {
    "正常发放": BenefitStatus.NORMAL,
    "暂停发放": BenefitStatus.SUSPENDED,
    "终止发放": BenefitStatus.TERMINATED,
}


@dataclass(frozen=True, slots=True)
class RegistryRow:
    """One imported pensioner: the bus record and the encrypted personal fields."""

    record: PensionerRecord
    pii_cipher: str


@dataclass(frozen=True, slots=True)
class RowError:
    """A registry row that needs correction (R-7.2: bad base records are corrected)."""

    row: int
    person_id: str
    reason: str
    id_masked: str | None = None
    name_masked: str | None = None


def read_registry_csv(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a registry CSV with English or Chinese headers, numbered from 2 (line 1 is
    the header), streamed one at a time."""
    reader = csv.DictReader(lines)
    if reader.fieldnames is None:
        return
    reader.fieldnames = [_ALIASES.get(h.strip(), h.strip()) for h in reader.fieldnames]
    for number, row in enumerate(reader, start=2):
        yield number, {k: (v or "").strip() for k, v in row.items() if k is not None}


def registry_row(
    row: dict[str, str],
    *,
    pseudonymizer: Pseudonymizer,
    cipher: FieldCipher,
    today: date,
    now: datetime,
) -> RegistryRow:
    """Validate one R-7.2 row (GB/T 31594-style: key fields, id, coherent dates)."""
    missing = [name for name, _, required in REGISTRY_COLUMNS if required and not row.get(name)]
    if missing:
        raise RecordRejected(f"missing key fields: {', '.join(missing)}")
    identity = normalize_identity(
        row.get("id_type") or RESIDENT_ID_CARD,
        row["id_number"],
        row["name"],
        pseudonymizer=pseudonymizer,
        today=today,
    )
    birth = _birth_date(row, identity.id_number)
    sex = _sex(row, identity.id_number)
    benefit_start = _date("benefit_start", row["benefit_start"])
    retirement = (
        _date("retirement_date", row.get("retirement_date", ""))
        if row.get("retirement_date")
        else None
    )
    _check_dates(row, birth, benefit_start, retirement)
    for name in ("phone", "contact_phone"):
        if row.get(name) and not _PHONE.fullmatch(row[name].replace(" ", "")):
            raise RecordRejected(f"{name}: not a mobile (11 digits) or fixed-line number")
    registration = check_region("registration_region", row["registration_region"]) or ""
    try:
        record = PensionerRecord(
            pseudonym=identity.person.pseudonym,
            name_digest=identity.person.name_digest,
            person_id=row["person_id"],
            id_type=identity.person.id_type,
            id_masked=identity.person.id_masked,
            name_masked=identity.person.name_masked,
            sex=sex,
            birth_date=birth,
            insurance_type=_enum(row["insurance_type"], InsuranceType, _INSURANCE_ALIASES),
            benefit_status=_enum(row["benefit_status"], BenefitStatus, _STATUS_ALIASES),
            retirement_date=retirement,
            benefit_start=benefit_start,
            registration_region=registration,
            residence_region=check_region("residence_region", row.get("residence_region")),
            benefit_region=check_region("benefit_region", row.get("benefit_region"))
            or registration,
            monthly_benefit=_decimal("monthly_benefit", row.get("monthly_benefit", "")),
            last_certified_on=_date("last_certified_on", row["last_certified_on"])
            if row.get("last_certified_on")
            else None,
            updated_at=now,
        )
    except ValidationError as error:
        raise RecordRejected(describe_error(error)) from error
    pii = {name: row.get(name, "") for name in _PII_FIELDS}
    pii.update(name=identity.name, id_number=identity.id_number)
    return RegistryRow(record, cipher.encrypt(json.dumps(pii, ensure_ascii=False), context="pii"))


#: A mainland mobile (1 + 10 digits) or a fixed line with its area code (010-12345678).
_PHONE = re.compile(r"1\d{10}|0\d{2,3}-?\d{7,8}")
#: Below this age a retirement date is a data error, not an early retirement (the earliest
#: statutory pension ages are 50 and, for special work types, 45).
MIN_RETIREMENT_AGE = 40


def _check_dates(
    row: dict[str, str], birth: date, benefit_start: date, retirement: date | None
) -> None:
    """GB/T 31594-style logical consistency of the registry's dates (R-7.2):
    birth < retirement <= benefit start, and nothing recorded before the birth."""
    if benefit_start <= birth:
        raise RecordRejected("benefit_start: before the birth date")
    if retirement is not None:
        if retirement <= birth:
            raise RecordRejected("retirement_date: before the birth date")
        if retirement > benefit_start:
            raise RecordRejected("retirement_date: after benefit_start (benefits follow it)")
        age = (
            retirement.year
            - birth.year
            - ((retirement.month, retirement.day) < (birth.month, birth.day))
        )
        if age < MIN_RETIREMENT_AGE:
            raise RecordRejected(
                f"retirement_date: at age {age}, below {MIN_RETIREMENT_AGE} (a date error?)"
            )
    for name in ("household_registration_date", "last_certified_on"):
        if row.get(name) and _date(name, row[name]) < birth:
            raise RecordRejected(f"{name}: before the birth date")


def unique_rows(
    numbered: list[tuple[int, RegistryRow]], known: dict[str, str]
) -> tuple[list[RegistryRow], list[RowError]]:
    """One row per pensioner within a chunk (the later row wins, as a later update would)
    and no person number shared by two id numbers (``known``: person_id -> pseudonym
    already stored). A clash is a row to correct, never a silent overwrite (R-7.2)."""
    latest: dict[str, tuple[int, RegistryRow]] = {}
    owner = dict(known)
    errors: list[RowError] = []
    for number, row in numbered:
        person_id, pseudonym = row.record.person_id, row.record.pseudonym
        if owner.setdefault(person_id, pseudonym) != pseudonym:
            errors.append(
                RowError(
                    number,
                    person_id,
                    "person_id: already registered with another id number",
                    row.record.id_masked,
                    row.record.name_masked,
                )
            )
            continue
        earlier = latest.get(pseudonym)
        if earlier is not None and earlier[1].record.person_id != person_id:
            errors.append(
                RowError(
                    number,
                    person_id,
                    f"id_number: also on row {earlier[0]} under another person_id",
                    row.record.id_masked,
                    row.record.name_masked,
                )
            )
            continue
        latest[pseudonym] = (number, row)
    return [row for _, row in latest.values()], errors


def _date(field: str, text: str) -> date:
    try:
        return date.fromisoformat(text.replace("/", "-"))
    except ValueError as error:
        raise RecordRejected(f"{field}: {text!r} is not a date (YYYY-MM-DD)") from error


def _birth_date(row: dict[str, str], id18: str) -> date:
    from lifesign.identity import birth_date_of

    from_id = birth_date_of(id18)
    given = row.get("birth_date")
    if given and _date("birth_date", given) != from_id:
        raise RecordRejected("birth_date: disagrees with the id number")
    return from_id


def _sex(row: dict[str, str], id18: str) -> Any:
    from_id = sex_of(id18)
    text = row.get("sex", "").strip().upper()
    given = {"男": "M", "女": "F", "1": "M", "2": "F"}.get(text, text)
    if given and given != from_id:
        raise RecordRejected("sex: disagrees with the id number")
    return from_id


def _enum(text: str, kind: type[Any], aliases: dict[str, Any]) -> Any:
    if text in aliases:
        return aliases[text]
    try:
        return kind(text)
    except ValueError as error:
        allowed = ", ".join([*(m.value for m in kind), *aliases])
        raise RecordRejected(f"{kind.__name__}: {text!r} is not one of {allowed}") from error


def _decimal(field: str, text: str) -> str | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise RecordRejected(f"{field}: {text!r} is not a number") from error
    if not value.is_finite():
        raise RecordRejected(f"{field}: {text!r} is not a number")
    if value < 0:
        raise RecordRejected(f"{field}: negative")
    return str(value)


def row_error(number: int, row: dict[str, str], reason: str) -> RowError:
    """A row to correct, with the person shown masked (R-5.3.3) so a clerk can find them."""
    raw_id, raw_name = row.get("id_number", "").strip(), normalise_name(row.get("name", ""))
    try:
        id_masked: str | None = mask_id_number(normalize_id_number(raw_id)) if raw_id else None
    except InvalidIdNumber:
        id_masked = mask_id_number(raw_id) if len(raw_id) >= 15 else "*" * len(raw_id)
    return RowError(
        number, row.get("person_id", ""), reason, id_masked, mask_name(raw_name) or None
    )
