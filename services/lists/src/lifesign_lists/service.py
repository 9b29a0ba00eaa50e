"""The three lists of R-7.5.3, from statuses.

Eligible people in their warning period (R-6.3) are on the eligible list, flagged.
Suspended people have lost payment for want of certification and are verified like
pending ones; they are listed as pending verification with the suspension flagged.
"""

from __future__ import annotations

from enum import StrEnum

from lifesign.certification import Status


class ListName(StrEnum):
    ELIGIBLE = "eligible"  # 具备资格人员名单
    PENDING = "pending"  # 待核实人员名单
    LOST = "lost"  # 丧失资格人员名单


LIST_STATUSES: dict[ListName, tuple[Status, ...]] = {
    ListName.ELIGIBLE: (Status.ELIGIBLE, Status.WARNING),
    ListName.PENDING: (Status.PENDING, Status.SUSPENDED),
    ListName.LOST: (Status.LOST,),
}


def list_of(status: Status) -> ListName:
    for name, statuses in LIST_STATUSES.items():
        if status in statuses:
            return name
    raise ValueError(f"no list for status {status}")


def region_prefix(code: str) -> str:
    """A GB/T 2260 code as a jurisdiction prefix: 110000 -> 11, 110100 -> 1101."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code
