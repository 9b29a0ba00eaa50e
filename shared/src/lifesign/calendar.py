"""Validity, warning and pending-verification periods (R-6), as pure functions of dates.

A certification opens a validity window (R-6.1: the benefit start date for a new pensioner,
otherwise the date of the latest successful certification). From its ``start``:

* ``end`` (R-6.2) is ``start`` + 12 months, or, when the agency aligns ends to a fixed day
  of the year, the latest occurrence of that day that is after ``start`` and no later than
  ``start`` + 12 months - so nobody ever goes more than 12 months between certifications.
* ``warning_start`` (R-6.3) is ``end`` - 3 months: reminders are sent from then on.
* ``pending_end`` (R-6.4) is ``end`` + 3 months: the pending-verification period.

Month arithmetic clamps to the end of the month (python-dateutil ``relativedelta``):
31 January + 12 months is 31 January, 29 February 2024 + 12 months is 28 February 2025,
31 May - 3 months is 28 (or 29) February.

All periods are half-open intervals of dates ``[from, to)``; the window is valid through
the day before ``end``, and ``end`` itself is the first pending day::

    as_of < start                    NOT_STARTED
    start <= as_of < warning_start   VALID
    warning_start <= as_of < end     WARNING
    end <= as_of < pending_end       PENDING
    pending_end <= as_of             EXPIRED

With alignment the first window can be short (certified on 30 December with ends aligned to
31 December gives ``end`` = 31 December of the same year); then ``warning_start`` falls
before ``start`` and the window is in WARNING from its first day.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

# python-dateutil ships no type information; _add_months keeps the Any from spreading.
from dateutil.relativedelta import relativedelta

__all__ = [
    "PENDING_MONTHS",
    "VALIDITY_MONTHS",
    "WARNING_MONTHS",
    "AnnualAlignment",
    "Period",
    "ValidityWindow",
    "validity_end",
    "validity_window",
]

WARNING_MONTHS: Final = 3
"""R-6.3: length of the warning period before the validity end."""
PENDING_MONTHS: Final = 3
"""R-6.4: length of the pending-verification period after the validity end."""
VALIDITY_MONTHS: Final = 12
"""R-6.2: length of a validity window (also the upper bound with alignment)."""


class Period(StrEnum):
    """Where a date falls relative to a validity window (see the module docstring)."""

    NOT_STARTED = "not_started"
    VALID = "valid"
    WARNING = "warning"
    PENDING = "pending"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class AnnualAlignment:
    """R-6.2: validity ends aligned to a fixed day of the year (configured per region).

    29 February is allowed; in common years it means 28 February.
    """

    month: int
    day: int

    def __post_init__(self) -> None:
        """Reject days that no year has (e.g. 30 February, 31 April)."""
        if not 1 <= self.month <= 12:
            raise ValueError(f"alignment month must be 1..12, got {self.month}")
        # 2000 is a leap year, so this accepts 29 February and nothing impossible.
        if not 1 <= self.day <= _last_day_of_month(2000, self.month):
            raise ValueError(f"alignment day {self.day} does not exist in month {self.month}")

    def in_year(self, year: int) -> date:
        """Return this day in ``year`` (29 February becomes 28 February in common years)."""
        return date(year, self.month, min(self.day, _last_day_of_month(year, self.month)))


@dataclass(frozen=True, slots=True)
class RegionalAlignment:
    """R-6.2 per region: GB/T 2260 prefixes (``"41"`` a province, ``"4102"`` a city,
    ``"410225"`` a county) to the day validity ends there; the longest prefix wins and
    regions without one keep start + 12 months."""

    by_prefix: tuple[tuple[str, AnnualAlignment], ...] = ()

    @classmethod
    def parse(cls, config: dict[str, str]) -> RegionalAlignment:
        """From ``{"4102": "12-31"}`` (month-day), as a setting spells it."""
        entries = []
        for prefix, day in config.items():
            if not prefix.isdigit() or len(prefix) not in (2, 4, 6):
                raise ValueError(f"alignment region must be 2, 4 or 6 digits: {prefix!r}")
            month, _, dom = day.partition("-")
            entries.append((prefix, AnnualAlignment(int(month), int(dom))))
        return cls(tuple(sorted(entries, key=lambda e: -len(e[0]))))

    def for_region(self, region: str | None) -> AnnualAlignment | None:
        if region:
            for prefix, alignment in self.by_prefix:
                if region.startswith(prefix):
                    return alignment
        return None


@dataclass(frozen=True, slots=True)
class ValidityWindow:
    """One certification's validity window; build it with :func:`validity_window`."""

    start: date
    """R-6.1: benefit start or latest successful certification."""
    end: date
    """R-6.2: first day no longer valid (start + 12 months, or the aligned date)."""
    warning_start: date
    """R-6.3: first day of the warning period (end - 3 months)."""
    pending_end: date
    """R-6.4: first day after the pending-verification period (end + 3 months)."""

    def __post_init__(self) -> None:
        """Reject windows whose dates are out of order."""
        if not (self.start < self.end and self.warning_start < self.end < self.pending_end):
            raise ValueError(f"validity window dates are out of order: {self}")

    def period_on(self, as_of: date) -> Period:
        """Return the period ``as_of`` falls in (half-open intervals, see module docstring)."""
        if as_of < self.start:
            return Period.NOT_STARTED
        if as_of >= self.pending_end:
            return Period.EXPIRED
        if as_of >= self.end:
            return Period.PENDING
        if as_of >= self.warning_start:
            return Period.WARNING
        return Period.VALID


def validity_end(start: date, alignment: AnnualAlignment | None = None) -> date:
    """Return the end of the validity window starting on ``start`` (R-6.2).

    Without alignment: ``start`` + 12 months. With alignment: the latest occurrence of the
    aligned day that is after ``start`` and no later than ``start`` + 12 months. The one
    case with no such occurrence (ends aligned to 29 February, ``start`` on 28 February of
    the year before a leap year) falls back to ``start`` + 12 months.
    """
    latest = _add_months(start, VALIDITY_MONTHS)
    if alignment is None:
        return latest
    for year in (latest.year, latest.year - 1):
        candidate = alignment.in_year(year)
        if start < candidate <= latest:
            return candidate
    return latest


@functools.lru_cache(maxsize=65536)
def validity_window(start: date, alignment: AnnualAlignment | None = None) -> ValidityWindow:
    """Return the validity window starting on ``start`` (R-6.1 to R-6.4).

    Cached: a window depends only on its arguments, a year holds a few hundred distinct
    start dates, and month arithmetic costs more than the rest of a status evaluation."""
    end = validity_end(start, alignment)
    return ValidityWindow(
        start=start,
        end=end,
        warning_start=_add_months(end, -WARNING_MONTHS),
        pending_end=_add_months(end, PENDING_MONTHS),
    )


def _add_months(day: date, months: int) -> date:
    # relativedelta clamps to the end of the month (31 May - 3 months = 28/29 February).
    result: date = day + relativedelta(months=months)
    return result


def _last_day_of_month(year: int, month: int) -> int:
    result: date = date(year, month, 1) + relativedelta(day=31)
    return result.day
