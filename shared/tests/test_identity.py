"""Tests for lifesign.identity: id numbers, names, pseudonyms, field encryption, masking.

Clauses: R-5.3.1 (personal-information protection), R-5.3.3 (desensitised storage).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.iso7064 import mod_11_2

from lifesign.identity import (
    FieldCipher,
    IdReason,
    InvalidIdNumber,
    Pseudonymizer,
    birth_date_of,
    is_known_region,
    key_from_text,
    mask_id_number,
    mask_name,
    mask_phone,
    normalize_id_number,
    normalize_name,
    region_name,
    sex_of,
)

TODAY = date(2026, 1, 1)
VALID_ID = "11010519491231002X"  # 北京朝阳区, born 1949-12-31, female, check digit X
KEY = bytes(range(32))

# Real region codes: current counties, counties abolished since (110103 崇文区 and
# 110104 宣武区 merged in 2010, 320203 无锡南长区 merged in 2015), and prefecture/province
# codes that ids do carry (442000 中山市 has no counties).
REGION_CODES = ["110105", "110103", "110104", "320203", "442000", "650102", "110000", "440000"]


def _with_check_digit(id17: str) -> str:
    return id17 + mod_11_2.calc_check_digit(id17)


def _reason(raw: str, today: date = TODAY) -> IdReason:
    with pytest.raises(InvalidIdNumber) as caught:
        normalize_id_number(raw, today=today)
    return caught.value.reason


# --- normalize_id_number --------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002X",
        "11010519491231002x",  # lower-case x
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and X
        "１１０１０５１９４９１２３１００２ｘ",  # full-width lower-case x
        "  110105 19491231 002X\t",  # spaces people type
        "110105-19491231-002X",  # hyphens
        "110105491231002",  # old 15-digit form
        "１１０１０５４９１２３１００２",  # old form, full-width
    ],
)
def test_normalize_accepts_the_forms_people_type(raw: str) -> None:
    assert normalize_id_number(raw, today=TODAY) == VALID_ID


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        ("110105491231002", "11010519491231002X"),
        ("320203650315123", "320203196503151233"),
        ("510200400101001", "510200194001010016"),  # 重庆 under 四川 before 1997
    ],
)
def test_15_digit_ids_become_18_digits(id15: str, id18: str) -> None:
    assert normalize_id_number(id15, today=TODAY) == id18


def test_wrong_check_digit_is_rejected_with_expected_digit() -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        normalize_id_number("110105194912310021", today=TODAY)
    error = caught.value
    assert error.reason is IdReason.BAD_CHECKSUM
    assert error.raw == "110105194912310021"
    assert "expected X" in str(error)
    assert "110105194912310021" not in str(error)  # the full id never reaches the logs
    assert "110105********0021" in str(error)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize("raw", ["110103194912310027", "110104193005120010", "320203196503151233"])
def test_old_region_codes_that_no_longer_exist_are_accepted(raw: str) -> None:
    assert normalize_id_number(raw, today=TODAY) == raw


@pytest.mark.parametrize("raw", ["110000195501010046", "110100195501010041", "442000195501010036"])
def test_province_and_prefecture_level_codes_are_accepted(raw: str) -> None:
    assert normalize_id_number(raw, today=TODAY) == raw


@pytest.mark.parametrize("raw", ["990000194912310026", "123456194912310020"])
def test_made_up_region_codes_are_rejected(raw: str) -> None:
    assert _reason(raw) is IdReason.UNKNOWN_REGION


def test_future_birth_date_is_rejected() -> None:
    born_2026_05_01 = "110105202605010024"
    assert _reason(born_2026_05_01, today=date(2026, 4, 30)) is IdReason.FUTURE_BIRTH_DATE
    # born today is not in the future
    assert normalize_id_number(born_2026_05_01, today=date(2026, 5, 1)) == born_2026_05_01


def test_today_defaults_to_the_current_date() -> None:
    tomorrow = date.today() + timedelta(days=1)
    assert normalize_id_number(VALID_ID) == VALID_ID
    with pytest.raises(InvalidIdNumber):
        normalize_id_number(_with_check_digit(f"110105{tomorrow:%Y%m%d}002"))


@pytest.mark.parametrize(
    "raw",
    [
        "110105194902300020",  # 30 February
        "110105187912310024",  # before 1880
        _with_check_digit("11010519491300002"),  # month 13
        _with_check_digit("11010519490000002"),  # day 0
    ],
)
def test_impossible_birth_dates_are_rejected(raw: str) -> None:
    assert _reason(raw) is IdReason.BAD_BIRTH_DATE


@pytest.mark.parametrize("raw", ["", "   ", "-", "\u3000"])
def test_empty_values_are_rejected(raw: str) -> None:
    assert _reason(raw) is IdReason.EMPTY


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002Y",
        "1101051949123100X1",  # X not in the check-digit position
        "11010549123100X",  # the 15-digit form has no check digit
        "N/A",
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits are digits, but not ASCII
    ],
)
def test_bad_characters_are_rejected(raw: str) -> None:
    assert _reason(raw) is IdReason.BAD_CHARACTERS


@pytest.mark.parametrize("raw", ["1101051949123100", "11010519491231002X0", "123"])
def test_bad_lengths_are_rejected(raw: str) -> None:
    assert _reason(raw) is IdReason.BAD_LENGTH


def test_error_message_for_short_values_masks_everything() -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        normalize_id_number("1234567", today=TODAY)
    assert str(caught.value) == "id number has 7 characters, not 18 or 15: *******"


@given(
    region=st.sampled_from(REGION_CODES),
    born=st.dates(min_value=date(1880, 1, 1), max_value=TODAY),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_every_well_formed_id_survives_normalize_unchanged(
    region: str, born: date, sequence: int
) -> None:
    id18 = _with_check_digit(f"{region}{born:%Y%m%d}{sequence:03d}")
    assert normalize_id_number(id18, today=TODAY) == id18
    assert normalize_id_number(id18.lower(), today=TODAY) == id18
    assert birth_date_of(id18) == born
    assert sex_of(id18) == ("M" if sequence % 2 else "F")


@given(
    region=st.sampled_from(REGION_CODES),
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_15_to_18_conversion_gives_a_valid_check_digit(
    region: str, born: date, sequence: int
) -> None:
    id15 = f"{region}{born:%y%m%d}{sequence:03d}"
    id18 = normalize_id_number(id15, today=TODAY)
    assert id18[:17] == f"{region}{born:%Y%m%d}{sequence:03d}"
    assert mod_11_2.is_valid(id18)
    assert normalize_id_number(id18, today=TODAY) == id18


@given(
    region=st.sampled_from(REGION_CODES),
    born=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    sequence=st.integers(min_value=0, max_value=999),
    wrong=st.integers(min_value=1, max_value=10),
)
def test_any_other_check_digit_is_rejected(
    region: str, born: date, sequence: int, wrong: int
) -> None:
    id18 = _with_check_digit(f"{region}{born:%Y%m%d}{sequence:03d}")
    digits = "0123456789X"
    bad = id18[:17] + digits[(digits.index(id18[17]) + wrong) % 11]
    assert _reason(bad) is IdReason.BAD_CHECKSUM


# --- id helpers and regions -----------------------------------------------------------


def test_birth_date_and_sex() -> None:
    assert birth_date_of(VALID_ID) == date(1949, 12, 31)
    assert sex_of(VALID_ID) == "F"  # 17th digit 2
    assert sex_of("320203196503151233") == "M"  # 17th digit 3


def test_birth_date_of_rejects_impossible_dates() -> None:
    with pytest.raises(ValueError):
        birth_date_of("110105194902300020")


@pytest.mark.parametrize(
    ("code", "known", "name"),
    [
        ("110105", True, "朝阳区"),
        ("110103", True, "崇文区"),  # abolished 2010
        ("110104", True, "宣武区"),  # abolished 2010
        ("510200", True, "重庆市"),  # a Sichuan prefecture code until 1997
        ("510400", True, "攀枝花市"),  # 渡口市 in 1980: the most recent name wins
        ("513225", True, "九寨沟县"),  # 南坪县 in 1980
        ("510202", True, "渝中区"),  # 市中区 in 1980, code abolished in 1997
        ("110000", True, "北京市"),
        ("990000", False, None),
        ("123456", False, None),
        ("11010", False, None),
    ],
)
def test_regions(code: str, known: bool, name: str | None) -> None:
    assert is_known_region(code) is known
    assert region_name(code) == name


# --- names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张三", "张三"),
        ("  张 三  ", "张三"),
        ("张\u3000三\t丰", "张三丰"),  # ideographic space and tab
        ("John   Smith ", "John Smith"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),  # U+2022
        ("阿依古丽‧买买提", "阿依古丽·买买提"),  # U+2027
        ("阿依古丽・买买提", "阿依古丽·买买提"),  # U+30FB
        ("阿依古丽･买买提", "阿依古丽·买买提"),  # U+FF65
        ("阿依古丽．买买提", "阿依古丽·买买提"),  # U+FF0E
        ("阿依古丽∙买买提", "阿依古丽·买买提"),  # U+2219
        ("阿依古丽.买买提", "阿依古丽·买买提"),
        ("阿依古丽 . 买买提", "阿依古丽·买买提"),
        ("阿依古丽 · 买买提", "阿依古丽·买买提"),
        ("J. Smith", "J. Smith"),  # a full stop between Latin letters stays
        ("ＡＢＣ", "ABC"),  # NFKC
        ("", ""),
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@given(st.text(alphabet="张三丰阿依古丽AB .·•‧・･．∙\u3000\t-"))
def test_normalize_name_is_idempotent(raw: str) -> None:
    once = normalize_name(raw)
    assert normalize_name(once) == once


# --- pseudonyms -----------------------------------------------------------------------


def test_person_pseudonym_is_keyed_hmac_of_the_normalised_id() -> None:
    pseudonymizer = Pseudonymizer(KEY)
    expected = hmac.new(KEY, b"person:" + VALID_ID.encode(), hashlib.sha256).hexdigest()
    assert pseudonymizer.person(VALID_ID) == expected
    assert len(expected) == 64
    # the 15-digit form and typing variants are the same person
    assert pseudonymizer.person("110105491231002") == expected
    assert pseudonymizer.person("110105 19491231 002x") == expected


def test_name_pseudonym_is_keyed_hmac_of_the_normalised_name() -> None:
    pseudonymizer = Pseudonymizer(KEY)
    expected = hmac.new(KEY, "name:张三".encode(), hashlib.sha256).hexdigest()
    assert pseudonymizer.name(" 张 三 ") == expected


@given(key=st.binary(min_size=16, max_size=200), value=st.text(max_size=40))
def test_pseudonyms_equal_the_standard_hmac_for_any_key_length(key: bytes, value: str) -> None:
    # The precomputed inner and outer states, keys longer than a block hashed first.
    pseudonymizer = Pseudonymizer(key)
    expected = hmac.new(key, ("name:" + value).encode(), hashlib.sha256).hexdigest()
    assert pseudonymizer.name_of_normalised(value) == expected
    expected = hmac.new(key, ("person:" + value).encode(), hashlib.sha256).hexdigest()
    assert pseudonymizer.person_of_normalised(value) == expected


def test_pseudonyms_depend_on_key_and_domain() -> None:
    first, second = Pseudonymizer(KEY), Pseudonymizer(bytes(32))
    assert first.person(VALID_ID) != second.person(VALID_ID)
    assert first.name(VALID_ID) != first.person(VALID_ID)


def test_pseudonymizer_rejects_short_keys_and_invalid_ids() -> None:
    with pytest.raises(ValueError):
        Pseudonymizer(b"0123456789abcde")  # 15 bytes
    Pseudonymizer(b"0123456789abcdef")  # 16 bytes is enough
    with pytest.raises(InvalidIdNumber):
        Pseudonymizer(KEY).person("110105194912310021")


# --- field encryption -----------------------------------------------------------------


def test_encrypt_round_trip_and_format() -> None:
    cipher = FieldCipher(KEY)
    token = cipher.encrypt("张三", context="name")
    assert cipher.decrypt(token, context="name") == "张三"
    assert base64.urlsafe_b64decode(token)[:2] == b"v1"
    assert "张三" not in token
    assert cipher.encrypt("张三", context="name") != token  # fresh nonce each time


def test_decrypt_fails_with_wrong_key_or_context() -> None:
    token = FieldCipher(KEY).encrypt("13812345678", context="phone")
    with pytest.raises(ValueError):
        FieldCipher(bytes(32)).decrypt(token, context="phone")
    with pytest.raises(ValueError):
        FieldCipher(KEY).decrypt(token, context="name")
    with pytest.raises(ValueError):
        FieldCipher(KEY).decrypt(token)


def test_decrypt_fails_on_tampered_or_malformed_tokens() -> None:
    cipher = FieldCipher(KEY)
    token = cipher.encrypt("secret")
    blob = base64.urlsafe_b64decode(token)
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])  # one bit of the tag
    other_version = b"v2" + blob[2:]
    tampered = [base64.urlsafe_b64encode(b).decode() for b in (flipped, other_version)]
    for bad in [*tampered, token[:20], "", "not base64!", "djE=", token + "A"]:
        with pytest.raises(ValueError):
            cipher.decrypt(bad)


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_field_cipher_needs_a_32_byte_key(size: int) -> None:
    with pytest.raises(ValueError):
        FieldCipher(bytes(size))


@given(plaintext=st.text(), context=st.text())
def test_encrypt_decrypt_round_trips(plaintext: str, context: str) -> None:
    cipher = FieldCipher(KEY)
    assert cipher.decrypt(cipher.encrypt(plaintext, context=context), context=context) == (
        plaintext
    )


# --- keys -----------------------------------------------------------------------------


def test_key_from_text() -> None:
    assert key_from_text(KEY.hex()) == KEY
    assert key_from_text(KEY.hex().upper()) == KEY
    assert key_from_text("dev passphrase") == hashlib.sha256(b"dev passphrase").digest()
    not_hex = "z" * 64
    assert key_from_text(not_hex) == hashlib.sha256(not_hex.encode()).digest()
    with pytest.raises(ValueError):
        key_from_text("")


# --- masking --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("110105491231002", "110105*****1002"),
        ("12345", "***45"),
        ("", ""),
    ],
)
def test_mask_id_number(value: str, masked: str) -> None:
    assert mask_id_number(value) == masked


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("阿依古丽·买买提", "阿*******"),  # 8 characters, the dot is masked too
        ("张", "*"),
        ("", ""),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("01012345678", "010****5678"),
        ("12345", "***45"),
        ("12", "**"),
        ("", ""),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("name", ["張國榮", "阿依古丽•买买提", " 王　五 ", "Mary Smith", "李x"])
def test_the_hot_path_pseudonyms_equal_the_checked_ones(name: str) -> None:
    """Ingest skips the second check of an id (and name) it has just normalised."""
    from lifesign.names import normalise_name

    pseudonymizer = Pseudonymizer(b"k" * 32)
    id18 = normalize_id_number("110105194103150011")
    assert pseudonymizer.person_of_normalised(id18) == pseudonymizer.person(id18)
    clean = normalise_name(name)
    assert pseudonymizer.name_of_normalised(clean) == pseudonymizer.name(clean)
