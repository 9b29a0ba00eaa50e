"""Tests for lifesign_lists.service: the three lists of R-7.5.3 and region prefixes."""

from __future__ import annotations

import pytest

from lifesign.certification import Status
from lifesign_lists.service import LIST_STATUSES, ListName, list_of, region_prefix


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (Status.ELIGIBLE, ListName.ELIGIBLE),
        (Status.WARNING, ListName.ELIGIBLE),  # still eligible, flagged
        (Status.PENDING, ListName.PENDING),
        (Status.SUSPENDED, ListName.PENDING),  # verified like pending people
        (Status.LOST, ListName.LOST),
    ],
)
def test_list_of_each_status_r_7_5_3(status: Status, name: ListName) -> None:
    assert list_of(status) is name


def test_every_status_is_on_exactly_one_list_r_7_5_3() -> None:
    placed = [s for statuses in LIST_STATUSES.values() for s in statuses]
    assert sorted(placed) == sorted(Status)
    assert [n.value for n in ListName] == ["eligible", "pending", "lost"]


@pytest.mark.parametrize(
    ("code", "prefix"),
    [
        ("110000", "11"),  # province (Beijing)
        ("110100", "1101"),  # prefecture
        ("110105", "110105"),  # county (Chaoyang)
        ("440300", "4403"),
        ("442000", "4420"),
        ("650102", "650102"),
    ],
)
def test_region_prefix(code: str, prefix: str) -> None:
    assert region_prefix(code) == prefix
