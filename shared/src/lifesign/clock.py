"""Time is a parameter (ARCHITECTURE principle 5): every rule takes ``as_of`` from a clock."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

_SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    """Source of the current time; business dates are Beijing dates."""

    def now(self) -> datetime: ...

    def today(self) -> date: ...


class SystemClock:
    """The wall clock, in Asia/Shanghai."""

    def now(self) -> datetime:
        return datetime.now(_SHANGHAI)

    def today(self) -> date:
        return self.now().date()


class FixedClock:
    """A clock that stands still (tests) or is moved explicitly (simulations)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at

    def now(self) -> datetime:
        return self._at

    def today(self) -> date:
        return self._at.astimezone(_SHANGHAI).date()

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._at = at
