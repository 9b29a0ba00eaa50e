"""Tests for lifesign_ingest.service: normalising department records and registry rows.

Clauses: R-7.3.2 (normalisation before use), R-7.2 (base information, GB/T 31594-style
checks), R-5.3.1 / R-5.3.3 (no plaintext identity past ingest; encrypted storage),
ARCHITECTURE principle 4 (plaintext identity stays at the edge).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lifesign.catalogue import get_source
from lifesign.events import (
    BenefitStatus,
    Channel,
    FeedRecord,
    InsuranceType,
    LifeEvent,
    NameCheck,
    Provenance,
    event_id_for,
)
from lifesign.identity import FieldCipher, Pseudonymizer, key_from_text, make_id_number
from lifesign_ingest.service import (
    RecordRejected,
    RegistryRow,
    read_registry_csv,
    registry_row,
)
from lifesign_ingest.service import (
    normalize_record as _normalize_record,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PSEUDONYMIZER = Pseudonymizer(key_from_text("test"))
CIPHER = FieldCipher(key_from_text("test"))
TODAY = date(2026, 1, 10)
NOW = datetime(2026, 1, 10, 9, 0, tzinfo=SHANGHAI)

ID18 = make_id_number("110105", date(1949, 12, 31), 2)  # 11010519491231002X, female
ID15 = "110105491231002"  # the same person's pre-1999 15-digit id
MALE_ID = make_id_number("310104", date(1955, 6, 1), 11)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


def feed_record(**overrides: object) -> FeedRecord:
    fields: dict[str, object] = {
        "record_id": "F-0001",
        "id_number": ID18,
        "name": "张三",
        "occurred_at": datetime(2026, 1, 8, 10, 30, tzinfo=SHANGHAI),
        "region": "110105",
        "attributes": {"death_date": "2026-01-06", "cremation_date": "2026-01-08"},
    }
    fields.update(overrides)
    return FeedRecord.model_validate(fields)


def normalize(record: FeedRecord, source: str = "funeral_cremation") -> LifeEvent:
    return _normalize_record(
        record,
        source=get_source(source),
        provenance=Provenance(channel=Channel.KAFKA, source_record_id=record.record_id),
        received_at=NOW,
        pseudonymizer=PSEUDONYMIZER,
    )


# --- feed records (R-7.3.2) --------------------------------------------------------------


def test_normalize_record_builds_a_pseudonymous_event_r_7_3_2() -> None:
    event = normalize(feed_record())
    assert event.source == "funeral_cremation"
    assert event.person.pseudonym == PSEUDONYMIZER.person(ID18)
    assert event.person.name_digest == PSEUDONYMIZER.name("张三")
    assert event.person.id_type == "01"
    assert event.person.id_masked == "110105********002X"
    assert event.person.name_masked == "张*"
    assert event.region == "110105"
    assert event.received_at == NOW
    assert event.attributes == {"death_date": "2026-01-06", "cremation_date": "2026-01-08"}
    assert event.provenance.source_record_id == "F-0001"


def test_normalized_event_carries_no_plaintext_identity_r_5_3_1() -> None:
    """ARCHITECTURE principle 4: only pseudonyms and masks leave ingest."""
    event = normalize(feed_record(name="欧阳娜娜"))
    dumped = event.model_dump_json()
    assert ID18 not in dumped
    assert ID18[6:14] not in dumped  # not even the birth date digits
    assert "欧阳娜娜" not in dumped
    assert event.person.name_masked == "欧***"


@pytest.mark.parametrize(
    "raw",
    [
        _full_width(ID18),  # １１０１０５…Ｘ
        ID18.lower(),  # lower-case x
        ID18[:6] + " " + ID18[6:14] + " " + ID18[14:],
        ID15,  # 15-digit form
    ],
    ids=["full-width", "lower-x", "spaces", "15-digit"],
)
def test_id_variants_give_the_same_pseudonym_r_7_3_2(raw: str) -> None:
    event = normalize(feed_record(id_number=raw))
    assert event.person.pseudonym == PSEUDONYMIZER.person(ID18)
    assert event.person.id_masked == "110105********002X"


def test_minority_name_dot_is_normalised_r_7_3_2() -> None:
    assert normalize(feed_record(name="阿依古丽•买买提")).person.name_digest == (
        PSEUDONYMIZER.name("阿依古丽·买买提")
    )


def test_wrong_check_digit_is_rejected() -> None:
    wrong = ID18[:17] + ("0" if ID18[17] != "0" else "1")
    with pytest.raises(RecordRejected, match="check digit") as caught:
        normalize(feed_record(id_number=wrong))
    assert str(caught.value).startswith("id_number: ")
    assert wrong not in str(caught.value)  # the message reaches logs: masked only


def test_non_resident_id_type_is_rejected() -> None:
    with pytest.raises(RecordRejected, match=r"id_type: only resident id cards \(01\)"):
        normalize(feed_record(id_type="02"))


def test_unknown_record_region_is_rejected() -> None:
    with pytest.raises(RecordRejected, match="region: '999999' is not a GB/T 2260 region code"):
        normalize(feed_record(region="999999"))


def test_unknown_region_in_the_id_is_rejected() -> None:
    with pytest.raises(RecordRejected, match="region code is not in GB/T 2260"):
        normalize(feed_record(id_number=make_id_number("999999", date(1950, 1, 1), 1)))


def test_empty_region_means_no_region() -> None:
    assert normalize(feed_record(region="")).region is None
    assert normalize(feed_record(region=None)).region is None


def test_naive_occurred_at_is_beijing_time() -> None:
    event = normalize(feed_record(occurred_at=datetime(2026, 1, 8, 10, 30)))
    assert event.occurred_at == datetime(2026, 1, 8, 10, 30, tzinfo=SHANGHAI)
    assert event.occurred_at.utcoffset() == timedelta(hours=8)
    assert event.occurred_at.astimezone(UTC) == datetime(2026, 1, 8, 2, 30, tzinfo=UTC)


def test_aware_utc_occurred_at_is_converted_to_beijing() -> None:
    event = normalize(feed_record(occurred_at=datetime(2026, 1, 7, 16, 30, tzinfo=UTC)))
    assert event.occurred_at.utcoffset() == timedelta(hours=8)
    assert (event.occurred_at.date(), event.occurred_at.hour, event.occurred_at.minute) == (
        date(2026, 1, 8),
        0,
        30,
    )


def test_event_id_is_deterministic_from_source_and_record_id_r_7_3_2() -> None:
    """A redelivered record keeps its id, whatever else changed."""
    first = normalize(feed_record())
    again = normalize(feed_record(name="张 三", occurred_at=datetime(2026, 1, 9, tzinfo=SHANGHAI)))
    assert first.event_id == again.event_id == event_id_for("funeral_cremation", "F-0001")
    assert normalize(feed_record(record_id="F-0002")).event_id != first.event_id
    other_source = normalize(
        feed_record(attributes={"certificate_no": "C1", "death_date": "2026-01-06"}),
        source="medical_death_certificate",
    )
    assert other_source.event_id != first.event_id


# --- the pensioner registry (R-7.2) ------------------------------------------------------

CSV_HEADER_ZH = (
    "个人编号,姓名,证件号码,性别,出生日期,户籍所在地区划代码,"
    "险种类型,待遇状态,待遇开始日期,月待遇金额,本人电话"
)
CSV_ZH = [
    CSV_HEADER_ZH,
    f"P001, 张三 ,{ID15},女,1949-12-31,110105,企业职工,正常发放,2009-12-01,3500.50,13812345678",
    f"P002,李四,{MALE_ID},男,,310104,public_institution,suspended,2015-07-01,,",
]


def _row(**overrides: str) -> dict[str, str]:
    row = {
        "person_id": "P001",
        "name": "张三",
        "id_number": ID18,
        "sex": "女",
        "birth_date": "1949-12-31",
        "registration_region": "110105",
        "insurance_type": "enterprise",
        "benefit_status": "normal",
        "benefit_start": "2009-12-01",
    }
    row.update(overrides)
    return row


def _import(row: dict[str, str]) -> RegistryRow:
    return registry_row(row, pseudonymizer=PSEUDONYMIZER, cipher=CIPHER, today=TODAY, now=NOW)


def test_registry_csv_chinese_headers_map_to_field_names_r_7_2() -> None:
    rows = list(read_registry_csv(CSV_ZH))
    assert [n for n, _ in rows] == [2, 3]
    assert rows[0][1] == {
        "person_id": "P001",
        "name": "张三",
        "id_number": ID15,
        "sex": "女",
        "birth_date": "1949-12-31",
        "registration_region": "110105",
        "insurance_type": "企业职工",
        "benefit_status": "正常发放",
        "benefit_start": "2009-12-01",
        "monthly_benefit": "3500.50",
        "phone": "13812345678",
    }
    assert rows[1][1]["birth_date"] == ""


def test_registry_csv_english_headers_and_empty_file() -> None:
    assert list(read_registry_csv([])) == []
    rows = list(read_registry_csv(["person_id , name", "P9,王五"]))
    assert rows == [(2, {"person_id": "P9", "name": "王五"})]


def test_registry_row_from_chinese_csv_r_7_2() -> None:
    """Chinese enum aliases (企业职工, 正常发放) and the 15-digit id are accepted."""
    (_, row), (_, row2) = read_registry_csv(CSV_ZH)
    record = _import(row).record
    assert record.pseudonym == PSEUDONYMIZER.person(ID18)
    assert record.name_digest == PSEUDONYMIZER.name("张三")
    assert record.person_id == "P001"
    assert record.id_masked == "110105********002X"
    assert record.name_masked == "张*"
    assert record.sex == "F"
    assert record.birth_date == date(1949, 12, 31)
    assert record.insurance_type is InsuranceType.ENTERPRISE
    assert record.benefit_status is BenefitStatus.NORMAL
    assert record.benefit_start == date(2009, 12, 1)
    assert record.registration_region == "110105"
    assert record.benefit_region == "110105"  # defaults to the registration region
    assert record.residence_region is None
    assert record.monthly_benefit == "3500.50"
    assert record.last_certified_on is None
    assert record.updated_at == NOW

    other = _import(row2).record
    assert (other.sex, other.birth_date) == ("M", date(1955, 6, 1))
    assert other.insurance_type is InsuranceType.PUBLIC_INSTITUTION
    assert other.benefit_status is BenefitStatus.SUSPENDED
    assert other.monthly_benefit is None


@pytest.mark.parametrize(
    ("insurance", "status", "expected"),
    [
        ("企业职工", "正常发放", (InsuranceType.ENTERPRISE, BenefitStatus.NORMAL)),
        ("机关事业单位", "暂停发放", (InsuranceType.PUBLIC_INSTITUTION, BenefitStatus.SUSPENDED)),
        ("城乡居民", "终止发放", (InsuranceType.URBAN_RURAL_RESIDENT, BenefitStatus.TERMINATED)),
        ("遗属", "normal", (InsuranceType.SURVIVOR, BenefitStatus.NORMAL)),
    ],
)
def test_registry_enum_aliases_r_7_2(
    insurance: str, status: str, expected: tuple[InsuranceType, BenefitStatus]
) -> None:
    record = _import(_row(insurance_type=insurance, benefit_status=status)).record
    assert (record.insurance_type, record.benefit_status) == expected


def test_registry_pii_is_encrypted_with_the_normalised_identity_r_5_3_3() -> None:
    row = _row(id_number=ID15.replace("", " ").strip(), name=" 张三 ", phone="13812345678")
    imported = _import(row)
    assert ID18 not in imported.pii_cipher
    pii = json.loads(CIPHER.decrypt(imported.pii_cipher, context="pii"))
    assert pii == {
        "name": "张三",
        "id_number": ID18,
        "phone": "13812345678",
        "registration_address": "",
        "residence_address": "",
        "contact_name": "",
        "contact_phone": "",
        "registration_street": "",  # kept for the push (POST /registry/contacts)
        "residence_street": "",
    }
    with pytest.raises(ValueError):
        CIPHER.decrypt(imported.pii_cipher, context="other")
    dumped = imported.record.model_dump_json()
    assert ID18 not in dumped and "张三" not in dumped and "13812345678" not in dumped


def test_registry_row_lists_every_missing_key_field_r_7_2() -> None:
    row = _row(person_id="", benefit_start="")
    del row["insurance_type"]
    with pytest.raises(RecordRejected) as caught:
        _import(row)
    assert str(caught.value) == "missing key fields: person_id, insurance_type, benefit_start"


def test_registry_birth_date_must_agree_with_the_id() -> None:
    with pytest.raises(RecordRejected, match="birth_date: disagrees with the id number"):
        _import(_row(birth_date="1949-12-30"))


def test_registry_birth_date_is_taken_from_the_id_when_absent() -> None:
    assert _import(_row(birth_date="")).record.birth_date == date(1949, 12, 31)
    assert _import(_row(birth_date="1949/12/31")).record.birth_date == date(1949, 12, 31)


@pytest.mark.parametrize("sex", ["男", "M", "1"])
def test_registry_sex_must_agree_with_the_id(sex: str) -> None:
    with pytest.raises(RecordRejected, match="sex: disagrees with the id number"):
        _import(_row(sex=sex))


@pytest.mark.parametrize("sex", ["女", "F", "2", ""])
def test_registry_sex_that_agrees_is_accepted(sex: str) -> None:
    assert _import(_row(sex=sex)).record.sex == "F"


@pytest.mark.parametrize("start", ["1949-12-31", "1930-01-01"])
def test_registry_benefit_start_before_birth_is_rejected(start: str) -> None:
    with pytest.raises(RecordRejected, match="benefit_start: before the birth date"):
        _import(_row(benefit_start=start))


def test_registry_retirement_before_birth_is_rejected() -> None:
    with pytest.raises(RecordRejected, match="retirement_date: before the birth date"):
        _import(_row(retirement_date="1940-01-01"))


def test_registry_unknown_insurance_type_lists_allowed_values() -> None:
    with pytest.raises(RecordRejected) as caught:
        _import(_row(insurance_type="商业保险"))
    assert str(caught.value) == (
        "InsuranceType: '商业保险' is not one of enterprise, public_institution, "
        "urban_rural_resident, survivor, 企业职工, 机关事业单位, 城乡居民, 遗属"
    )


def test_registry_unknown_benefit_status_is_rejected() -> None:
    with pytest.raises(RecordRejected, match="BenefitStatus: 'paused' is not one of normal"):
        _import(_row(benefit_status="paused"))


def test_registry_bad_dates_and_amounts_are_rejected() -> None:
    with pytest.raises(RecordRejected, match="benefit_start: '2009-13-01' is not a date"):
        _import(_row(benefit_start="2009-13-01"))
    with pytest.raises(RecordRejected, match="monthly_benefit: 'abc' is not a number"):
        _import(_row(monthly_benefit="abc"))
    with pytest.raises(RecordRejected, match="monthly_benefit: negative"):
        _import(_row(monthly_benefit="-1"))


def test_registry_unknown_region_is_rejected() -> None:
    with pytest.raises(RecordRejected, match="residence_region: '999999'"):
        _import(_row(residence_region="999999"))


def test_registry_bad_id_is_rejected() -> None:
    with pytest.raises(RecordRejected, match=r"id_number: .*check digit"):
        _import(_row(id_number=ID18[:17] + "0"))


def test_registry_nan_amount_is_a_row_error() -> None:
    with pytest.raises(RecordRejected, match="monthly_benefit"):
        _import(_row(monthly_benefit="NaN"))


# --- GB/T 31594-style checks of the registry (R-7.2) ------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (
            {"retirement_date": "2010-01-01"},
            "retirement_date: after benefit_start (benefits follow it)",
        ),
        ({"retirement_date": "1979-06-01"}, "retirement_date: at age 29, below 40 (a date error?)"),
        ({"household_registration_date": "1949-01-01"}, "household_registration_date: before"),
        ({"last_certified_on": "1940-01-01"}, "last_certified_on: before the birth date"),
        ({"phone": "12345"}, "phone: not a mobile (11 digits) or fixed-line number"),
        ({"contact_phone": "1381234567x"}, "contact_phone: not a mobile"),
    ],
)
def test_registry_dates_and_phones_must_be_coherent_r_7_2(
    overrides: dict[str, str], reason: str
) -> None:
    with pytest.raises(RecordRejected) as caught:
        _import(_row(**overrides))
    assert str(caught.value).startswith(reason)


def test_registry_coherent_dates_and_phones_are_accepted_r_7_2() -> None:
    record = _import(
        _row(
            retirement_date="2004-12-31",  # at 55, the month before benefits start
            household_registration_date="1958-03-01",
            last_certified_on="2025-06-30",
            phone="138 1234 5678",
            contact_phone="010-87654321",
        )
    ).record
    assert record.retirement_date == date(2004, 12, 31)


def test_row_error_masks_the_person_r_5_3_3() -> None:
    from lifesign_ingest.service import row_error

    error = row_error(7, {"person_id": "P9", "id_number": ID15, "name": " 張三 "}, "why")
    assert (error.row, error.person_id, error.reason) == (7, "P9", "why")
    assert (error.id_masked, error.name_masked) == ("110105********002X", "张*")
    bad = row_error(8, {"person_id": "P9", "id_number": ID18[:17] + "0", "name": ""}, "x")
    assert (bad.id_masked, bad.name_masked) == ("110105********0020", None)


# --- the Kafka channel's document form ------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"id_number": ID15, "name": " 張 三 ", "region": None},
        {"occurred_at": datetime(2026, 1, 8, 2, 30, 15, 123456, tzinfo=UTC)},
        {"occurred_at": datetime(1988, 6, 1, 10, 0)},  # naive; Beijing had summer time then
        {"attributes": {"n": 2**70, "x": 1.5, "nested": {"a": [1, None, "是"]}, "b": True}},
    ],
)
def test_kafka_documents_encode_as_the_validated_event(overrides: dict[str, object]) -> None:
    # The Kafka channel publishes event_document's dict as it is: the bytes must be the
    # LifeEvent's, and they must parse back to the event the other channels build.
    from lifesign_ingest.service import encode_document, event_document

    record = feed_record(**overrides)
    provenance = {
        "channel": "kafka",
        "source_record_id": record.record_id,
        "topic": "feed.funeral_cremation.v1",
        "partition": 3,
        "offset": 17,
        "file": None,
        "row": None,
        "job_id": None,
    }
    source = get_source("funeral_cremation")
    document, name = event_document(
        record, source=source, provenance=provenance, received_at=NOW, pseudonymizer=PSEUDONYMIZER
    )
    event = _normalize_record(
        record,
        source=source,
        provenance=Provenance.model_validate(provenance),
        received_at=NOW,
        pseudonymizer=PSEUDONYMIZER,
    )
    assert name == "张三"
    assert encode_document(document) == event.model_dump_json().encode()
    assert LifeEvent.model_validate_json(encode_document(document)) == event
    document["name_check"] = {"similarity": 0.97, "reasons": ["traditional_form"]}
    check = NameCheck.model_validate(document["name_check"])
    checked = event.model_copy(update={"name_check": check})
    assert encode_document(document) == checked.model_dump_json().encode()
