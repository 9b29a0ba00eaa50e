"""Person names: the canonical form for matching, and how alike two names are (R-7.3.3.2).

:func:`normalise_name` extends :func:`lifesign.identity.normalize_name` (NFKC, trimmed,
inner spaces, the minority-name middle dot unified) with traditional-to-simplified
conversion by OpenCC (``t2s``), so 張建國 and 张建国 are one name (R-7.3.2).

:func:`name_similarity` helps a reviewer decide whether loss evidence whose id number
matches a pensioner but whose name does not is about the same person (R-7.3.3.2): a score
from 0 to 1 and the reasons behind it (same pinyin, one character apart, traditional form
of the same name).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import opencc
from pypinyin import Style, lazy_pinyin
from rapidfuzz.distance import Levenshtein

from lifesign.identity import normalize_name as _basic_form

__all__ = ["NameSimilarity", "Reason", "name_similarity", "normalise_name"]


class Reason:
    """The reasons :func:`name_similarity` gives (stable strings, shown to reviewers)."""

    SAME = "same_name"
    TRADITIONAL_FORM = "traditional_form"
    SAME_PINYIN = "same_pinyin"
    SAME_PINYIN_TONES = "same_pinyin_with_tones"
    ONE_CHARACTER_APART = "one_character_apart"
    MIDDLE_DOT_OR_SPACING = "middle_dot_or_spacing"


# Scores per reason: the strongest reason wins. Without a reason the score is the share
# of characters in common, capped below every reason's score.
_SCORES: Final = {
    Reason.SAME: 1.0,
    Reason.MIDDLE_DOT_OR_SPACING: 0.98,
    Reason.TRADITIONAL_FORM: 0.97,
    Reason.SAME_PINYIN_TONES: 0.9,
    Reason.SAME_PINYIN: 0.85,
    Reason.ONE_CHARACTER_APART: 0.75,
}
_NO_REASON_CEILING: Final = 0.7


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    # Built once per process: loading the dictionaries takes milliseconds, converting is fast.
    return opencc.OpenCC("t2s")


#: Names repeat (a few thousand common names cover most people), so ingest keeps the
#: canonical forms of recent ones instead of running NFKC, four patterns and OpenCC again
#: (about 4 µs a name). Bounded: some megabytes at most, in the one process that may hold
#: plaintext names anyway.
NAME_CACHE_SIZE: Final = 1 << 16


@lru_cache(maxsize=NAME_CACHE_SIZE)
def normalise_name(raw: str) -> str:
    """The canonical form of a name: NFKC, trimmed, spaces and middle dots unified, then
    traditional characters converted to simplified (R-7.3.2)."""
    basic = _basic_form(raw)
    return _t2s().convert(basic) if basic else basic


@dataclass(frozen=True, slots=True)
class NameSimilarity:
    """How alike two names are: ``score`` in 0..1 and why (:class:`Reason` values)."""

    score: float
    reasons: tuple[str, ...]


def _bare(name: str) -> str:
    """A name without its middle dots and spaces (阿依古丽·买买提 = 阿依古丽买买提)."""
    return name.replace("·", "").replace(" ", "").lower()


def _pinyin(name: str, *, tones: bool) -> list[str]:
    style = Style.TONE3 if tones else Style.NORMAL
    # Non-Han characters (Latin letters in transliterated names) pass through unchanged.
    return [p.lower() for p in lazy_pinyin(name.replace("·", ""), style=style)]


def name_similarity(a: str, b: str) -> NameSimilarity:
    """Score how likely two spellings name the same person, with the reasons (R-7.3.3.2).

    Compared on the raw forms (after NFKC) and on the canonical forms: a traditional
    spelling of the same name, the same pinyin (a homophone typed by an input method),
    one character apart (a typo), or only the middle dot or spacing differing.
    """
    raw_a, raw_b = _basic_form(a), _basic_form(b)
    norm_a, norm_b = normalise_name(a), normalise_name(b)
    reasons: list[str] = []
    if raw_a == raw_b:
        reasons.append(Reason.SAME)
    elif norm_a == norm_b:
        reasons.append(Reason.TRADITIONAL_FORM)  # the basic forms differ only by OpenCC
    elif _bare(norm_a) == _bare(norm_b):
        reasons.append(Reason.MIDDLE_DOT_OR_SPACING)
    else:
        if _pinyin(norm_a, tones=True) == _pinyin(norm_b, tones=True):
            reasons.append(Reason.SAME_PINYIN_TONES)
        elif _pinyin(norm_a, tones=False) == _pinyin(norm_b, tones=False):
            reasons.append(Reason.SAME_PINYIN)
        if Levenshtein.distance(norm_a, norm_b) == 1:
            reasons.append(Reason.ONE_CHARACTER_APART)
    if reasons:
        score = max(_SCORES[r] for r in reasons)
    else:
        # Only partly alike: the share of characters in common, kept below every reason.
        score = min(Levenshtein.normalized_similarity(norm_a, norm_b), _NO_REASON_CEILING)
    return NameSimilarity(round(score, 3), tuple(reasons))
