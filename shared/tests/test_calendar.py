"""Tests for lifesign.calendar: validity (R-6.1, R-6.2), warning (R-6.3), pending (R-6.4)."""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from lifesign.calendar import (
    PENDING_MONTHS,
    VALIDITY_MONTHS,
    WARNING_MONTHS,
    AnnualAlignment,
    Period,
    RegionalAlignment,
    ValidityWindow,
    validity_end,
    validity_window,
)

DAY = timedelta(days=1)
PERIOD_ORDER = list(Period)
starts = st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31))


@st.composite
def valid_alignments(draw: st.DrawFn) -> AnnualAlignment:
    month = draw(st.integers(min_value=1, max_value=12))
    day = draw(st.integers(min_value=1, max_value=stdlib_calendar.monthrange(2000, month)[1]))
    return AnnualAlignment(month, day)


def _plus_months(day: date, months: int) -> date:
    """Independent oracle for month arithmetic clamped to the end of the month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = stdlib_calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def test_constants_match_the_requirements() -> None:
    assert (VALIDITY_MONTHS, WARNING_MONTHS, PENDING_MONTHS) == (12, 3, 3)


# --- validity end without alignment ---------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (date(2026, 3, 15), date(2027, 3, 15)),
        (date(2026, 1, 31), date(2027, 1, 31)),  # 31 January + 12 months
        (date(2024, 2, 29), date(2025, 2, 28)),  # 29 February clamps
        (date(2027, 2, 28), date(2028, 2, 28)),  # stays 28 February in a leap year
        (date(2026, 12, 31), date(2027, 12, 31)),
    ],
)
def test_validity_end_is_twelve_months_later(start: date, end: date) -> None:
    assert validity_end(start) == end


def test_window_dates_clamp_to_the_end_of_the_month() -> None:
    window = validity_window(date(2026, 5, 31))
    assert window == ValidityWindow(
        start=date(2026, 5, 31),
        end=date(2027, 5, 31),
        warning_start=date(2027, 2, 28),  # 31 May - 3 months
        pending_end=date(2027, 8, 31),
    )
    assert validity_window(date(2027, 5, 31)).warning_start == date(2028, 2, 29)
    assert validity_window(date(2026, 11, 30)).pending_end == date(2028, 2, 29)


# --- periods (half-open intervals) ------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "period"),
    [
        (date(2026, 3, 14), Period.NOT_STARTED),
        (date(2026, 3, 15), Period.VALID),
        (date(2026, 12, 14), Period.VALID),
        (date(2026, 12, 15), Period.WARNING),  # warning_start
        (date(2027, 3, 14), Period.WARNING),  # last valid day
        (date(2027, 3, 15), Period.PENDING),  # end is the first pending day
        (date(2027, 6, 14), Period.PENDING),
        (date(2027, 6, 15), Period.EXPIRED),
        (date(2030, 1, 1), Period.EXPIRED),
    ],
)
def test_period_boundaries(as_of: date, period: Period) -> None:
    assert validity_window(date(2026, 3, 15)).period_on(as_of) is period


def test_window_rejects_dates_out_of_order() -> None:
    with pytest.raises(ValueError):
        ValidityWindow(
            start=date(2026, 1, 1),
            end=date(2026, 1, 1),
            warning_start=date(2025, 10, 1),
            pending_end=date(2026, 4, 1),
        )


# --- alignment to a fixed date -----------------------------------------------------


@pytest.mark.parametrize(
    ("alignment", "start", "end"),
    [
        (AnnualAlignment(12, 31), date(2026, 3, 15), date(2026, 12, 31)),
        (AnnualAlignment(12, 31), date(2026, 12, 31), date(2027, 12, 31)),
        (AnnualAlignment(12, 31), date(2026, 1, 1), date(2026, 12, 31)),
        (AnnualAlignment(6, 30), date(2026, 6, 30), date(2027, 6, 30)),
        (AnnualAlignment(6, 30), date(2026, 7, 1), date(2027, 6, 30)),
        (AnnualAlignment(6, 30), date(2026, 6, 29), date(2026, 6, 30)),  # short window
        (AnnualAlignment(2, 29), date(2026, 6, 1), date(2027, 2, 28)),  # common year
        (AnnualAlignment(2, 29), date(2027, 6, 1), date(2028, 2, 29)),  # leap year
        (AnnualAlignment(2, 29), date(2027, 3, 1), date(2028, 2, 29)),
        (AnnualAlignment(2, 29), date(2024, 2, 29), date(2025, 2, 28)),
        # 29 February 2028 would be 12 months and a day: fall back to start + 12 months
        (AnnualAlignment(2, 29), date(2027, 2, 28), date(2028, 2, 28)),
        (AnnualAlignment(2, 28), date(2027, 2, 28), date(2028, 2, 28)),
    ],
)
def test_aligned_validity_end(alignment: AnnualAlignment, start: date, end: date) -> None:
    assert validity_end(start, alignment) == end


def test_short_aligned_window_is_in_warning_from_its_first_day() -> None:
    window = validity_window(date(2026, 12, 30), AnnualAlignment(12, 31))
    assert window.end == date(2026, 12, 31)
    assert window.warning_start == date(2026, 9, 30)
    assert window.period_on(date(2026, 12, 29)) is Period.NOT_STARTED
    assert window.period_on(date(2026, 12, 30)) is Period.WARNING
    assert window.period_on(date(2026, 12, 31)) is Period.PENDING
    assert window.period_on(date(2027, 3, 31)) is Period.EXPIRED


@pytest.mark.parametrize(("month", "day"), [(0, 1), (13, 1), (1, 0), (1, 32), (2, 30), (4, 31)])
def test_impossible_alignments_are_rejected(month: int, day: int) -> None:
    with pytest.raises(ValueError):
        AnnualAlignment(month, day)


def test_alignment_in_year() -> None:
    assert AnnualAlignment(2, 29).in_year(2027) == date(2027, 2, 28)
    assert AnnualAlignment(2, 29).in_year(2028) == date(2028, 2, 29)
    assert AnnualAlignment(12, 31).in_year(2026) == date(2026, 12, 31)


# --- properties -------------------------------------------------------------------------


@given(starts)
def test_unaligned_window_invariants(start: date) -> None:
    window = validity_window(start)
    assert window.start < window.warning_start < window.end < window.pending_end
    assert window.end == _plus_months(start, 12)
    assert (window.end - window.start).days in (365, 366)
    assert window.warning_start == _plus_months(window.end, -3)
    assert window.pending_end == _plus_months(window.end, 3)
    assert window.period_on(start) is Period.VALID
    assert window.period_on(window.end - DAY) is Period.WARNING


@given(starts, valid_alignments())
def test_aligned_end_is_the_latest_occurrence_within_twelve_months(
    start: date, alignment: AnnualAlignment
) -> None:
    latest = _plus_months(start, 12)
    end = validity_end(start, alignment)
    assert start < end <= latest  # certified at least once a year
    next_occurrence = alignment.in_year(end.year + 1)
    if end == alignment.in_year(end.year):
        assert next_occurrence > latest  # no later aligned date would still fit
    else:
        # the only fallback: ends on 29 February, start on 28 February before a leap year
        assert (alignment.month, alignment.day) == (2, 29)
        assert (start.month, start.day) == (2, 28)
        assert end == latest


@given(starts, st.one_of(st.none(), valid_alignments()), starts, starts)
def test_periods_only_move_forward(
    start: date, alignment: AnnualAlignment | None, first: date, second: date
) -> None:
    assume(first <= second)
    window = validity_window(start, alignment)
    before, after = window.period_on(first), window.period_on(second)
    assert PERIOD_ORDER.index(before) <= PERIOD_ORDER.index(after)


@given(starts, valid_alignments())
def test_aligned_window_invariants(start: date, alignment: AnnualAlignment) -> None:
    window = validity_window(start, alignment)
    assert window.start < window.end
    assert window.warning_start < window.end < window.pending_end
    assert window.period_on(window.end) is Period.PENDING
    assert window.period_on(window.pending_end) is Period.EXPIRED


def test_regional_alignment_takes_the_longest_prefix_and_leaves_others_unaligned() -> None:
    regional = RegionalAlignment.parse({"41": "06-30", "4102": "12-31"})
    assert regional.for_region("410225") == AnnualAlignment(12, 31)  # the city's rule
    assert regional.for_region("410102") == AnnualAlignment(6, 30)  # the province's
    assert regional.for_region("110105") is None
    assert regional.for_region(None) is None
    start = date(2026, 3, 5)
    window = validity_window(start, regional.for_region("410225"))
    assert window.end == date(2026, 12, 31)  # never more than 12 months


@pytest.mark.parametrize("config", [{"4": "12-31"}, {"41": "02-30"}, {"41a": "12-31"}])
def test_regional_alignment_refuses_a_bad_setting(config: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        RegionalAlignment.parse(config)
