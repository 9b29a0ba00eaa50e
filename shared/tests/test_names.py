"""Tests for lifesign.names: the canonical name (R-7.3.2) and name similarity (R-7.3.3.2)."""

from __future__ import annotations

import pytest

from lifesign.names import Reason, name_similarity, normalise_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 张建国 ", "张建国"),
        ("張建國", "张建国"),  # traditional to simplified (OpenCC t2s)
        ("歐陽娜娜", "欧阳娜娜"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),  # bullet as the middle dot
        ("阿依古丽 ・ 买买提", "阿依古丽·买买提"),  # katakana middle dot, spaced
        ("ＺＨＡＮＧ　Ｓａｎ", "ZHANG San"),  # full-width letters and space (NFKC)
        ("张 三", "张三"),
        ("", ""),
    ],
)
def test_normalise_name_r_7_3_2(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


def test_identical_names_score_one() -> None:
    same = name_similarity("张建国", " 张建国")
    assert (same.score, same.reasons) == (1.0, (Reason.SAME,))


def test_traditional_form_of_the_same_name_r_7_3_3_2() -> None:
    result = name_similarity("張建國", "张建国")
    assert result.reasons == (Reason.TRADITIONAL_FORM,)
    assert result.score == pytest.approx(0.97)


def test_same_pinyin_homophone_r_7_3_3_2() -> None:
    # 张建国 / 张建果: guó vs guǒ, same letters, different tone; one character apart too.
    result = name_similarity("张建国", "张建果")
    assert result.reasons == (Reason.SAME_PINYIN, Reason.ONE_CHARACTER_APART)
    assert result.score == pytest.approx(0.85)
    toned = name_similarity("王秀英", "王秀瑛")  # yīng and yīng: the same tone as well
    assert Reason.SAME_PINYIN_TONES in toned.reasons
    assert toned.score == pytest.approx(0.9)


def test_one_character_apart_r_7_3_3_2() -> None:
    result = name_similarity("张建国", "张建华")
    assert result.reasons == (Reason.ONE_CHARACTER_APART,)
    assert result.score == pytest.approx(0.75)


def test_missing_middle_dot_r_7_3_3_2() -> None:
    result = name_similarity("阿依古丽买买提", "阿依古丽·买买提")
    assert result.reasons == (Reason.MIDDLE_DOT_OR_SPACING,)


def test_different_names_score_low_without_reasons() -> None:
    result = name_similarity("张建国", "李秀英")
    assert result.reasons == ()
    assert result.score == 0.0
    partly = name_similarity("欧阳娜娜", "欧阳建国")
    assert partly.reasons == ()
    assert 0.4 <= partly.score <= 0.6  # two of four characters agree


def test_similarity_is_symmetric() -> None:
    for a, b in [("張建國", "张建国"), ("张建国", "张建果"), ("阿依古丽买买提", "阿依古丽·买买提")]:
        assert name_similarity(a, b) == name_similarity(b, a)
