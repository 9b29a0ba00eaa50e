"""The pending-verification push of R-7.6.1, to the county or street office of residence.

Offices verify the people on it (R-4.5) — also those who live in their area and draw a
pension from another region (异地, R-4.6) — so it goes by residence, not by the paying
region. It carries every field R-7.6.1 names; the personal ones (name, id number, phone,
addresses) exist only in ingest, which discloses them per export and logs it. Fields the
registry import does not carry (employer, community) are present and empty.
Agencies work in Excel: the export is also CSV (UTF-8 with BOM) and XLSX, Chinese headers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import httpx
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from lifesign.settings import TIMEZONE

#: (key, Chinese header) in R-7.6.1's order.
PUSH_COLUMNS: tuple[tuple[str, str], ...] = (
    ("person_id", "个人编号"),
    ("name", "姓名"),
    ("id_type", "证件类型"),
    ("id_number", "证件号码"),
    ("person_category", "人员类别"),
    ("retirement_category", "离退休类别"),
    ("employer_id", "单位编号"),
    ("employer_name", "单位名称"),
    ("benefit_region", "待遇发放地"),
    ("certification_status", "认证状态"),
    ("last_certified_at", "最近认证时间"),
    ("validity_expiry_month", "有效期截止月份"),
    ("certification_source", "认证来源"),
    ("certification_result", "认证结果"),
    ("latest_behaviour", "最近行为"),
    ("benefit_status", "当前待遇状态"),
    ("household_region", "户籍地区划"),
    ("street", "街道(乡镇)"),
    ("community", "社区(村)"),
    ("registered_address", "户籍地址"),
    ("residence_address", "居住地址"),
    ("residence_region", "居住地区划"),
    ("phone", "联系电话"),
    ("other_region", "异地"),
    ("updated_at", "更新时间"),
)

_STATUS = {"pending": "待核实", "suspended": "暂停(待核实)"}
_METHOD = {
    "big_data": "大数据认证",
    "big_data_aux": "大数据辅助认证",
    "biometric": "生物特征认证",
    "home_visit": "上门认证",
    "manual": "人工认证",
}
_CATEGORY = {
    "enterprise": "企业职工",
    "public_institution": "机关事业单位",
    "urban_rural_resident": "城乡居民",
    "survivor": "遗属",
}
_BENEFIT = {"normal": "正常发放", "suspended": "暂停发放", "terminated": "终止发放"}


class Contacts(Protocol):
    """Where the personal fields come from (ingest, the only holder of them)."""

    async def fetch(self, pseudonyms: Sequence[str], purpose: str) -> dict[str, dict[str, Any]]:
        """pseudonym -> the registry's personal fields, for the named purpose."""
        ...


class IngestContacts:
    """Asks ingest's ``POST /registry/contacts``."""

    def __init__(
        self, url: str, *, timeout: float = 30.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._url = url.rstrip("/")
        self._timeout = timeout
        self._transport = transport  # another in-process app, in tests

    async def fetch(self, pseudonyms: Sequence[str], purpose: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            for start in range(0, len(pseudonyms), 10_000):
                response = await client.post(
                    f"{self._url}/registry/contacts",
                    json={
                        "pseudonyms": list(pseudonyms[start : start + 10_000]),
                        "purpose": purpose,
                        "requested_by": "lists",
                    },
                )
                response.raise_for_status()
                found.update({row["pseudonym"]: row for row in response.json()})
        return found


def push_row(candidate: dict[str, Any], contact: dict[str, Any] | None) -> dict[str, Any]:
    """One R-7.6.1 row from the lists' projection and the registry's personal fields."""
    person = contact or {}
    end: date | None = candidate.get("validity_end")
    proof: datetime | None = candidate.get("last_proof_of_life_at")
    method = _METHOD.get(candidate.get("last_proof_method") or "", "")
    residence = candidate.get("lives_in") or ""
    benefit_region = candidate.get("benefit_region") or ""
    lives_here = candidate.get("registry_residence_region") is not None
    return {
        "pseudonym": candidate["pseudonym"],
        "person_id": candidate["person_id"],
        "name": person.get("name") or candidate["name_masked"],
        "id_type": candidate["id_type"],
        "id_number": person.get("id_number") or candidate["id_masked"],
        "person_category": _CATEGORY.get(candidate["insurance_type"], candidate["insurance_type"]),
        "retirement_category": "退休" if candidate.get("retirement_date") else "",
        "employer_id": person.get("employer_id", ""),
        "employer_name": person.get("employer_name", ""),
        "benefit_region": benefit_region,
        "certification_status": _STATUS.get(candidate["status"], candidate["status"]),
        "last_certified_at": _local(proof),
        "validity_expiry_month": (end - timedelta(days=1)).strftime("%Y-%m") if end else "",
        "certification_source": method,
        "certification_result": candidate.get("conflict") or candidate["rule"],
        "latest_behaviour": f"{method} {_local(proof)}".strip() if proof else "",
        "benefit_status": _BENEFIT.get(candidate["benefit_status"], candidate["benefit_status"]),
        "household_region": candidate["registration_region"],
        "street": person.get("residence_street") or person.get("registration_street", ""),
        "community": person.get("community", ""),
        "registered_address": person.get("registration_address", ""),
        "residence_address": person.get("residence_address", ""),
        "residence_region": residence if lives_here else "",
        "phone": person.get("phone", ""),
        # 异地: lives in another county than the one that pays.
        "other_region": "是" if residence[:6] != benefit_region[:6] else "否",
        "updated_at": _local(candidate.get("changed_at")),
    }


def _local(moment: datetime | None) -> str:
    return moment.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M") if moment else ""


def to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel shows the Chinese headers."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header for _, header in PUSH_COLUMNS)
    for row in rows:
        writer.writerow(row[key] for key, _ in PUSH_COLUMNS)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: Sequence[dict[str, Any]], *, title: str) -> bytes:
    """One sheet, Chinese headers, id numbers and phones as text (never as numbers)."""
    # Write-only: rows stream to the file; a county's list never sits in memory twice.
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    for index, (_, header) in enumerate(PUSH_COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, 2 * len(header) + 4)
    sheet.freeze_panes = "A2"
    sheet.append([header for _, header in PUSH_COLUMNS])
    for row in rows:
        sheet.append([str(row[key]) for key, _ in PUSH_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
