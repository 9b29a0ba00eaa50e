"""The source catalogue: every data feed the certification platform collects.

One :class:`Source` per data source named in R-7.4 (clause 7.4 of the draft standard, "数据属性
标注") and in figure 2 of clause 7.3.1 ("认证服务采集数据的分类和来源"). Each entry records

* the structure class of the feed (R-7.3.1, R-8.2.2: structured, semi-structured or
  unstructured, taken from figure 2's three columns),
* the evidence label every valid record from it carries (R-7.4.1: direct or auxiliary; direct
  evidence is either proof of life or proof of lost eligibility, R-7.4.2; auxiliary evidence is
  R-7.4.3),
* for proof of lost eligibility, whether it is death or imprisonment,
* for direct proof of life, which certification method it counts as (R-4.1.2, R-7.6.3, R-7.7),
* the typical reporting delay and the source-specific record attributes.

Attributes common to every record (record id, id number, name, time of the event, region) belong
to the event contract and are not repeated in :attr:`Source.fields`.

Where figure 2 and R-7.4 disagree, R-7.4 wins (see the comments on the entries concerned).
Everything here is immutable; :data:`CATALOGUE` is a read-only mapping in a stable order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = [
    "CATALOGUE",
    "CertificationMethod",
    "EvidenceClass",
    "FieldSpec",
    "FieldType",
    "LossKind",
    "Source",
    "StructureClass",
    "UnknownSource",
    "get_source",
    "sources_by_evidence",
]


class StructureClass(StrEnum):
    """How a feed's data are carried (R-7.3.1.2, R-8.2.2; the columns of figure 2)."""

    STRUCTURED = "structured"
    SEMI_STRUCTURED = "semi_structured"
    UNSTRUCTURED = "unstructured"


class EvidenceClass(StrEnum):
    """The label a valid record carries (R-7.4.1).

    ``DIRECT_ALIVE`` and ``DIRECT_LOST`` are direct evidence (R-7.4.2) of eligibility and of lost
    eligibility; ``AUXILIARY_ALIVE`` is auxiliary evidence of eligibility (R-7.4.3), used only by
    the auxiliary analysis (R-7.5.2).
    """

    DIRECT_ALIVE = "direct_alive"
    DIRECT_LOST = "direct_lost"
    AUXILIARY_ALIVE = "auxiliary_alive"


class LossKind(StrEnum):
    """Why a ``DIRECT_LOST`` source means lost eligibility (R-7.4.2, 丧失领取待遇资格)."""

    DEATH = "death"
    PRISON = "prison"


class CertificationMethod(StrEnum):
    """How a proof of life from a ``DIRECT_ALIVE`` source counts (R-4.1.2 method order).

    Biometric channels are those of R-7.6.3; manual certification (人工认证) and home visits are
    social-service certification (R-7.7); every other direct source is big-data certification.
    """

    BIG_DATA = "big_data"
    #: 大数据辅助认证: no direct evidence; scoring's model judged the person alive from
    #: auxiliary behaviour (R-7.5.2.3). Never enough against a death record.
    BIG_DATA_AUX = "big_data_aux"
    BIOMETRIC = "biometric"
    HOME_VISIT = "home_visit"
    MANUAL = "manual"


class FieldType(StrEnum):
    """The value type of a source-specific record attribute."""

    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"
    ENUM = "enum"


_SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")

# Attributes every record carries through the event contract; a source must not redefine them.
_COMMON_FIELD_NAMES = frozenset(
    {"record_id", "id_number", "id_type", "name", "occurred_at", "region", "region_code"}
)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One source-specific attribute of a record (a key in the record's attributes).

    ``domain`` lists the allowed values of an ``ENUM`` field and is empty for every other type.
    """

    name: str
    type: FieldType
    required: bool
    name_zh: str
    description: str
    domain: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _SNAKE_CASE.fullmatch(self.name):
            raise ValueError(f"field name {self.name!r} is not snake_case")
        if self.type is FieldType.ENUM:
            if not self.domain:
                raise ValueError(f"enum field {self.name!r} needs a non-empty domain")
            if len(set(self.domain)) != len(self.domain):
                raise ValueError(f"enum field {self.name!r} has duplicate domain values")
        elif self.domain:
            raise ValueError(f"non-enum field {self.name!r} must not have a domain")


@dataclass(frozen=True, slots=True)
class Source:
    """A data source of figure 2 / R-7.4 and how its records are labelled.

    Invariants, checked on construction: ``loss_kind`` is set iff ``evidence`` is
    ``DIRECT_LOST``; ``method`` is set iff ``evidence`` is ``DIRECT_ALIVE``; ``code`` and field
    names are snake_case; field names are unique and do not redefine the common attributes.
    """

    code: str
    name_zh: str
    name_en: str
    department_zh: str
    department_en: str
    structure: StructureClass
    evidence: EvidenceClass
    loss_kind: LossKind | None
    method: CertificationMethod | None
    expected_delay_days: int
    fields: tuple[FieldSpec, ...]
    clause: str

    def __post_init__(self) -> None:
        if not _SNAKE_CASE.fullmatch(self.code):
            raise ValueError(f"source code {self.code!r} is not snake_case")
        if (self.loss_kind is None) == (self.evidence is EvidenceClass.DIRECT_LOST):
            raise ValueError(f"{self.code}: loss_kind must be set iff evidence is direct_lost")
        if (self.method is None) == (self.evidence is EvidenceClass.DIRECT_ALIVE):
            raise ValueError(f"{self.code}: method must be set iff evidence is direct_alive")
        if self.expected_delay_days < 0:
            raise ValueError(f"{self.code}: expected_delay_days must not be negative")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.code}: duplicate field names")
        common = _COMMON_FIELD_NAMES.intersection(names)
        if common:
            raise ValueError(f"{self.code}: redefines common attributes {sorted(common)}")

    @property
    def feed_topic(self) -> str:
        """The bus topic the ingest service publishes this source's records to."""
        return f"feed.{self.code}.v1"

    @property
    def is_direct(self) -> bool:
        """True for direct evidence (R-7.4.2), False for auxiliary evidence (R-7.4.3)."""
        return self.evidence in (EvidenceClass.DIRECT_ALIVE, EvidenceClass.DIRECT_LOST)

    def field(self, name: str) -> FieldSpec:
        """Return the source-specific field called ``name``; raise ``KeyError`` if absent."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)


class UnknownSource(KeyError):
    """Raised by :func:`get_source` for a code that is not in the catalogue."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    def __str__(self) -> str:
        return f"unknown source {self.code!r}"


# --- Abbreviations -----------------------------------------------------------------------------

_S = FieldType.STRING
_I = FieldType.INTEGER
_D = FieldType.DECIMAL
_DATE = FieldType.DATE
_DT = FieldType.DATETIME
_B = FieldType.BOOLEAN
_E = FieldType.ENUM

_STRUCT = StructureClass.STRUCTURED
_SEMI = StructureClass.SEMI_STRUCTURED
_UNSTRUCT = StructureClass.UNSTRUCTURED

_ALIVE = EvidenceClass.DIRECT_ALIVE
_LOST = EvidenceClass.DIRECT_LOST
_AUX = EvidenceClass.AUXILIARY_ALIVE

_HRSS_ZH = "人力资源和社会保障部门"
_HRSS_EN = "Human resources and social security (HRSS)"
_CIVIL_ZH = "民政部门"
_CIVIL_EN = "Civil affairs"
_POLICE_ZH = "公安部门"
_POLICE_EN = "Public security (police)"
_HEALTH_ZH = "卫生健康委员会"
_HEALTH_EN = "Health commission"
_NHSA_ZH = "医疗保障部门"
_NHSA_EN = "Healthcare security (medical insurance)"
_BANK_ZH = "银行业金融机构"
_BANK_EN = "Banks"
_TELCO_ZH = "通信运营商"
_TELCO_EN = "Mobile network operators"
_TRANSIT_ZH = "公共交通运营单位"
_TRANSIT_EN = "Public transport operators"

# --- Shared field specifications ----------------------------------------------------------------

_FACE_SCORE = FieldSpec(
    "face_match_score",
    _D,
    False,
    "人脸比对分值",
    "Face-comparison score of the liveness check, 0-100 (absent when no face check was done)",
)
_APP_ACTION = FieldSpec(
    "action",
    _E,
    True,
    "业务动作",
    "What the person did in the channel",
    ("certification", "login", "query", "application"),
)
_AGENCY_CODE = FieldSpec(
    "agency_code", _S, False, "经办机构编码", "Code of the handling social-security agency"
)
_BANK_CODE = FieldSpec("bank_code", _S, True, "银行机构编码", "Code of the bank (institution code)")
_BANK_CHANNEL = FieldSpec(
    "channel",
    _E,
    True,
    "办理渠道",
    "Channel the card operation was done through",
    ("counter", "atm", "mobile", "online"),
)
_CARD_LAST4 = FieldSpec("card_last4", _S, True, "卡号后四位", "Last four digits of the card")
_OPERATOR = FieldSpec(
    "operator",
    _E,
    True,
    "运营商",
    "Mobile network operator",
    ("china_mobile", "china_unicom", "china_telecom", "china_broadnet"),
)
_PHONE_MASKED = FieldSpec(
    "phone_number_masked", _S, True, "手机号码（脱敏）", "Mobile number, masked (R-5.3.3)"
)
_TRANSIT_CARD = FieldSpec(
    "card_no_masked", _S, True, "交通卡号（脱敏）", "Public-transport card number, masked"
)
_CITY_CODE = FieldSpec(
    "city_code", _S, True, "城市代码", "GB/T 2260 code of the city that issued the card"
)
_TRANSIT_CARD_KIND = FieldSpec(
    "card_kind",
    _E,
    False,
    "卡类型",
    "Card kind; senior and concession cards are personal and name-bound",
    ("ordinary", "senior", "concession"),
)
_HOSPITAL_CODE = FieldSpec(
    "hospital_code", _S, True, "医疗机构编码", "Code of the designated medical institution"
)
_INSTITUTION_CODE = FieldSpec(
    "institution_code", _S, True, "机构编码", "Code of the institution that provided the service"
)
_CERTIFICATE_NO = FieldSpec("certificate_no", _S, False, "证书编号", "Number of the certificate")


# --- The catalogue ------------------------------------------------------------------------------
# Order: direct alive (R-7.4.2 a) b) c), then figure-2 extras and channels), direct
# lost, auxiliary (R-7.4.3, then figure-2 extras). The order is part of the contract.

_SOURCES: tuple[Source, ...] = (
    # ---- Direct evidence, alive: HRSS data, R-7.4.2 a) 1). -------------------------------------
    Source(
        code="work_ability_appraisal",
        name_zh="劳动能力鉴定信息",
        name_en="Work-ability appraisal",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,  # HRSS business data (R-7.4 only, not drawn in figure 2)
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=7,
        fields=(
            FieldSpec("appraisal_no", _S, True, "鉴定编号", "Number of the appraisal conclusion"),
            FieldSpec("appraisal_date", _DATE, True, "鉴定日期", "Date of the appraisal"),
            FieldSpec(
                "disability_grade", _I, False, "伤残等级", "Disability grade 1-10 (1 = most severe)"
            ),
            FieldSpec(
                "self_care_level",
                _E,
                False,
                "生活自理障碍等级",
                "Degree of loss of self-care ability",
                ("complete", "major", "partial", "none"),
            ),
        ),
        clause="R-7.4.2 a) 1)",
    ),
    Source(
        code="insurance_registration",
        name_zh="参保登记信息",
        name_en="Insurance registration",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=1,
        fields=(
            FieldSpec(
                "business_type",
                _E,
                True,
                "业务类型",
                "Kind of registration business handled",
                ("new", "change", "transfer_in", "transfer_out", "resume"),
            ),
            FieldSpec(
                "insurance_type",
                _E,
                True,
                "险种类型",
                "Pension scheme concerned",
                ("enterprise_employee", "public_institution", "urban_rural_resident"),
            ),
            FieldSpec(
                "handling_channel",
                _E,
                False,
                "办理渠道",
                "Channel the business was handled through",
                ("counter", "online", "app", "kiosk"),
            ),
            _AGENCY_CODE,
        ),
        clause="R-7.4.2 a) 1)",
    ),
    Source(
        code="manual_certification",
        name_zh="人工认证信息",
        name_en="Manual certification",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.MANUAL,  # 人工认证
        expected_delay_days=0,
        fields=(
            FieldSpec("operator_id", _S, True, "经办人员编号", "Id of the certifying staff member"),
            FieldSpec(
                "agency_code", _S, True, "经办机构编码", "Code of the certifying agency or office"
            ),
            FieldSpec(
                "evidence_kind",
                _E,
                True,
                "留存凭证类型",
                "Kind of evidence kept (R-7.7)",
                ("id_copy", "photo", "staff_statement", "video"),
            ),
            FieldSpec(
                "evidence_ref", _S, False, "凭证存档编号", "Archive reference of the evidence"
            ),
        ),
        clause="R-7.4.2 a) 1)",
    ),
    Source(
        code="remote_certification",
        name_zh="异地认证信息",
        name_en="Cross-region (remote) certification",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        # Arrives as data exchanged between regions, so it counts as big data; the method
        # used where the person was certified is kept in original_method.
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=3,
        fields=(
            FieldSpec(
                "certifying_region_code",
                _S,
                True,
                "认证地区划代码",
                "GB/T 2260 code of the region where the person was certified",
            ),
            FieldSpec(
                "original_method",
                _E,
                True,
                "原认证方式",
                "Certification method used in the certifying region",
                tuple(m.value for m in CertificationMethod),
            ),
            FieldSpec("certified_on", _DATE, True, "认证日期", "Date of the certification"),
            FieldSpec(
                "certifying_agency", _S, False, "认证经办机构", "Agency that did the certification"
            ),
        ),
        clause="R-7.4.2 a) 1)",
    ),
    Source(
        code="work_injury_determination",
        name_zh="工伤认定信息",
        name_en="Work-injury determination",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,  # HRSS business data (R-7.4 only, not drawn in figure 2)
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=7,
        fields=(
            FieldSpec(
                "determination_no", _S, True, "认定书编号", "Number of the determination decision"
            ),
            FieldSpec("determination_date", _DATE, True, "认定日期", "Date of the determination"),
            FieldSpec("injury_date", _DATE, False, "受伤日期", "Date of the injury"),
            FieldSpec(
                "result",
                _E,
                True,
                "认定结论",
                "Outcome of the determination",
                ("recognised", "deemed", "not_recognised"),
            ),
            FieldSpec("employer_code", _S, False, "用人单位编号", "Id of the employer"),
        ),
        clause="R-7.4.2 a) 1)",
    ),
    Source(
        code="pensioner_change",
        # Figure 2 calls it 人员变更信息; a) 1) names it in full.
        name_zh="定期待遇领取人员变更信息",
        name_en="Changes of regular-benefit recipients' data",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=1,
        fields=(
            FieldSpec(
                "change_type",
                _E,
                True,
                "变更类型",
                "What was changed",
                ("address", "phone", "bank_account", "personal_info", "benefit", "other"),
            ),
            FieldSpec("changed_on", _DATE, True, "变更日期", "Date the change was handled"),
            FieldSpec(
                "handling_channel",
                _E,
                False,
                "办理渠道",
                "Channel the change was handled through",
                ("counter", "online", "app", "kiosk"),
            ),
            _AGENCY_CODE,
        ),
        clause="R-7.4.2 a) 1)",
    ),
    Source(
        code="elderly_checkup_subsidy",
        name_zh="老年人体检补助信息",
        name_en="Elderly health check-up subsidy",
        # lists it among HRSS data; figure 2 draws it as civil-affairs interface data.
        department_zh=_CIVIL_ZH,
        department_en=_CIVIL_EN,
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=30,
        fields=(
            FieldSpec("checkup_date", _DATE, True, "体检日期", "Date of the health check-up"),
            _INSTITUTION_CODE,
            FieldSpec("subsidy_amount", _D, False, "补助金额", "Subsidy paid, in yuan"),
            FieldSpec("programme", _S, False, "补助项目", "Name of the local subsidy programme"),
        ),
        clause="R-7.4.2 a) 1)",
    ),
    Source(
        code="poor_family",
        name_zh="困难家庭人员信息",
        name_en="Members of families in difficulty",
        # Listed among HRSS data by; figure 2 draws it next to the civil-affairs feeds,
        # which run minimum-living and extreme-poverty assistance.
        department_zh=_CIVIL_ZH,
        department_en=_CIVIL_EN,
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=30,
        fields=(
            FieldSpec(
                "assistance_type",
                _E,
                True,
                "救助类型",
                "Kind of assistance",
                ("minimum_living", "extreme_poverty", "low_income", "temporary"),
            ),
            FieldSpec("verified_on", _DATE, True, "核查日期", "Date of the latest household check"),
            FieldSpec("household_no", _S, False, "救助家庭编号", "Id of the assisted household"),
            FieldSpec("monthly_allowance", _D, False, "月救助金额", "Monthly allowance, in yuan"),
        ),
        clause="R-7.4.2 a) 1)",
    ),
    # ---- Direct evidence, alive: HRSS channels, R-7.4.2 a) 2); biometric. ----------
    Source(
        code="app_12333",
        name_zh="人力资源和社会保障部掌上12333APP",
        name_en="MOHRSS 12333 mobile app",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIOMETRIC,
        expected_delay_days=0,
        fields=(
            _APP_ACTION,
            _FACE_SCORE,
            FieldSpec("app_version", _S, False, "APP版本", "Version of the app"),
            FieldSpec("device_id_hash", _S, False, "设备标识摘要", "Hash of the device id"),
        ),
        clause="R-7.4.2 a) 2)",
    ),
    Source(
        code="e_social_security_card",
        name_zh="人力资源和社会保障部签发的电子社保卡",
        name_en="Electronic social-security card issued by MOHRSS",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIOMETRIC,
        expected_delay_days=0,
        fields=(
            FieldSpec(
                "action",
                _E,
                True,
                "业务动作",
                "What the person did with the card",
                ("issue", "certification", "login", "query", "payment"),
            ),
            FieldSpec(
                "access_channel",
                _S,
                True,
                "服务渠道",
                "Channel the card was used through (e.g. a bank or payment app)",
            ),
            _FACE_SCORE,
        ),
        clause="R-7.4.2 a) 2)",
    ),
    Source(
        code="hr_wechat_account",
        name_zh="各级“人社”微信公众号",
        name_en="HRSS WeChat official accounts",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIOMETRIC,
        expected_delay_days=0,
        fields=(
            FieldSpec("account_id", _S, True, "公众号标识", "Id of the official account"),
            _APP_ACTION,
            _FACE_SCORE,
        ),
        clause="R-7.4.2 a) 2)",
    ),
    Source(
        code="hr_mobile_app",
        name_zh="各级“人社”APP手机客户端",
        name_en="Local HRSS mobile apps",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIOMETRIC,
        expected_delay_days=0,
        fields=(
            FieldSpec("app_id", _S, True, "APP标识", "Id of the local app"),
            _APP_ACTION,
            _FACE_SCORE,
        ),
        clause="R-7.4.2 a) 2)",
    ),
    Source(
        code="self_service_kiosk",
        name_zh="服务窗口自助服务设备",
        name_en="Self-service kiosks at service windows",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIOMETRIC,
        expected_delay_days=0,
        fields=(
            FieldSpec("kiosk_id", _S, True, "设备编号", "Id of the kiosk"),
            FieldSpec("location", _S, False, "设备位置", "Service hall where the kiosk stands"),
            FieldSpec(
                "action",
                _E,
                True,
                "业务动作",
                "What the person did at the kiosk",
                ("certification", "card_service", "query", "print"),
            ),
            _FACE_SCORE,
        ),
        clause="R-7.4.2 a) 2)",
    ),
    # ---- Direct evidence, alive: medical-insurance data, R-7.4.2 b). ---------------------------
    Source(
        code="medical_insurance_contribution",
        name_zh="医疗保险缴费信息",
        name_en="Medical-insurance contributions",
        department_zh=_NHSA_ZH,
        department_en=_NHSA_EN,
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=30,
        fields=(
            FieldSpec(
                "insurance_type",
                _E,
                True,
                "险种类型",
                "Medical-insurance scheme",
                ("employee", "urban_rural_resident"),
            ),
            FieldSpec("contribution_period", _S, True, "缴费所属期", "Period paid for, as YYYYMM"),
            FieldSpec("amount", _D, True, "缴费金额", "Amount paid, in yuan"),
            FieldSpec(
                "payment_channel",
                _E,
                False,
                "缴费渠道",
                "How the contribution was paid",
                ("employer", "bank_deduction", "online", "counter", "tax_bureau"),
            ),
        ),
        clause="R-7.4.2 b)",
    ),
    Source(
        code="inpatient_record",
        name_zh="住院病历信息",
        name_en="In-patient medical records",
        department_zh=_NHSA_ZH,
        department_en=_NHSA_EN,
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=7,
        fields=(
            _HOSPITAL_CODE,
            FieldSpec("admission_date", _DATE, True, "入院日期", "Date of admission"),
            FieldSpec(
                "discharge_date", _DATE, False, "出院日期", "Date of discharge (absent while in)"
            ),
            FieldSpec("diagnosis_code", _S, False, "主要诊断编码", "ICD-10 main diagnosis code"),
            FieldSpec("total_cost", _D, False, "医疗总费用", "Total cost so far, in yuan"),
        ),
        clause="R-7.4.2 b)",
    ),
    Source(
        code="medical_benefit_application",
        name_zh="医疗待遇申请信息",
        name_en="Medical-benefit applications",
        department_zh=_NHSA_ZH,
        department_en=_NHSA_EN,
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=7,
        fields=(
            FieldSpec(
                "application_type",
                _E,
                True,
                "申请类型",
                "Kind of benefit applied for",
                ("chronic_disease", "special_disease", "remote_care_filing", "other"),
            ),
            FieldSpec("application_date", _DATE, True, "申请日期", "Date of the application"),
            FieldSpec(
                "applied_in_person",
                _B,
                False,
                "本人申请",
                "True if the person applied in person rather than through an agent",
            ),
            FieldSpec("institution_code", _S, False, "机构编码", "Code of the medical institution"),
        ),
        clause="R-7.4.2 b)",
    ),
    Source(
        code="inpatient_settlement",
        name_zh="住院结算信息",
        name_en="In-patient settlements",
        department_zh=_NHSA_ZH,
        department_en=_NHSA_EN,
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=3,
        fields=(
            _HOSPITAL_CODE,
            FieldSpec("settlement_date", _DATE, True, "结算日期", "Date of the settlement"),
            FieldSpec("total_cost", _D, True, "医疗总费用", "Total cost, in yuan"),
            FieldSpec("fund_paid", _D, False, "统筹基金支付", "Part paid by the pooled fund"),
            FieldSpec("self_paid", _D, False, "个人自付", "Part paid by the person"),
        ),
        clause="R-7.4.2 b)",
    ),
    Source(
        code="referral_emergency_application",
        name_zh="异地转诊急诊申请信息",
        name_en="Cross-region referral and emergency applications",
        department_zh=_NHSA_ZH,
        department_en=_NHSA_EN,
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=3,
        fields=(
            FieldSpec(
                "application_kind",
                _E,
                True,
                "申请类别",
                "Referral or emergency treatment",
                ("referral", "emergency"),
            ),
            FieldSpec("application_date", _DATE, True, "申请日期", "Date of the application"),
            _HOSPITAL_CODE,
            FieldSpec(
                "destination_region_code",
                _S,
                False,
                "就医地区划代码",
                "GB/T 2260 code of the region where treatment takes place",
            ),
        ),
        clause="R-7.4.2 b)",
    ),
    Source(
        code="long_term_care",
        name_zh="长期护理保险服务信息",
        name_en="Long-term care insurance services",
        department_zh=_NHSA_ZH,
        department_en=_NHSA_EN,
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=30,
        fields=(
            FieldSpec("care_provider_code", _S, True, "护理机构编码", "Code of the care provider"),
            FieldSpec("service_date", _DATE, True, "服务日期", "Date the care was provided"),
            FieldSpec(
                "service_kind",
                _E,
                True,
                "服务形式",
                "Where the care was provided",
                ("home", "institution", "hospital"),
            ),
            FieldSpec("care_level", _I, False, "失能等级", "Assessed disability (care) level"),
            FieldSpec("service_cost", _D, False, "服务费用", "Cost of the service, in yuan"),
        ),
        clause="R-7.4.2 b)",
    ),
    # ---- Direct evidence, alive: other data, R-7.4.2 c). ---------------------------------------
    # c) 1) the four bank-card events, each its own feed.
    Source(
        code="bank_card_opening",
        name_zh="银行开卡信息",
        name_en="Bank card opening",
        department_zh=_BANK_ZH,
        department_en=_BANK_EN,
        structure=_UNSTRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=1,
        fields=(
            _BANK_CODE,
            _BANK_CHANNEL,
            _CARD_LAST4,
            FieldSpec("branch_code", _S, False, "网点编码", "Code of the bank branch"),
        ),
        clause="R-7.4.2 c) 1)",
    ),
    Source(
        code="bank_card_reissue",
        name_zh="银行补卡信息",
        name_en="Bank card reissue",
        department_zh=_BANK_ZH,
        department_en=_BANK_EN,
        structure=_UNSTRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=1,
        fields=(
            _BANK_CODE,
            _BANK_CHANNEL,
            _CARD_LAST4,
            FieldSpec(
                "reason",
                _E,
                False,
                "补卡原因",
                "Why the card was reissued",
                ("lost", "damaged", "expired", "other"),
            ),
        ),
        clause="R-7.4.2 c) 1)",
    ),
    Source(
        code="bank_card_loss_report",
        name_zh="银行挂失信息",
        name_en="Bank card loss report",
        department_zh=_BANK_ZH,
        department_en=_BANK_EN,
        structure=_UNSTRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=1,
        fields=(
            _BANK_CODE,
            _BANK_CHANNEL,
            _CARD_LAST4,
            FieldSpec(
                "report_kind",
                _E,
                False,
                "挂失类型",
                "Oral (temporary) or formal written loss report",
                ("temporary", "formal"),
            ),
        ),
        clause="R-7.4.2 c) 1)",
    ),
    Source(
        code="bank_card_password_change",
        name_zh="银行修改密码信息",
        name_en="Bank card password change",
        department_zh=_BANK_ZH,
        department_en=_BANK_EN,
        structure=_UNSTRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=1,
        fields=(_BANK_CODE, _BANK_CHANNEL, _CARD_LAST4),
        clause="R-7.4.2 c) 1)",
    ),
    Source(
        code="mobile_card_opening",
        name_zh="通信运营商开卡数据",
        name_en="Mobile SIM card opening",
        department_zh=_TELCO_ZH,
        department_en=_TELCO_EN,
        structure=_UNSTRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=1,
        fields=(
            _OPERATOR,
            _PHONE_MASKED,
            FieldSpec("outlet_code", _S, False, "营业厅编码", "Code of the sales outlet"),
            FieldSpec(
                "real_name_verified",
                _B,
                False,
                "实名核验通过",
                "True if the real-name check with face comparison passed",
            ),
        ),
        clause="R-7.4.2 c) 2)",
    ),
    Source(
        code="marriage_registration",
        name_zh="婚姻登记信息",
        name_en="Marriage registration",
        department_zh=_CIVIL_ZH,
        department_en=_CIVIL_EN,
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=7,
        fields=(
            FieldSpec(
                "registration_kind",
                _E,
                True,
                "登记类型",
                "Kind of registration",
                ("marriage", "divorce", "certificate_reissue"),
            ),
            FieldSpec("registration_date", _DATE, True, "登记日期", "Date of the registration"),
            FieldSpec("registry_code", _S, True, "登记机关编码", "Code of the marriage registry"),
            _CERTIFICATE_NO,
        ),
        clause="R-7.4.2 c) 3)",
    ),
    Source(
        code="disability_determination",
        name_zh="残疾认定信息",
        name_en="Disability determination",
        department_zh="残疾人联合会",
        department_en="Disabled Persons' Federation",
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=30,
        fields=(
            FieldSpec(
                "disability_kind",
                _E,
                True,
                "残疾类别",
                "Category of disability",
                (
                    "visual",
                    "hearing",
                    "speech",
                    "physical",
                    "intellectual",
                    "mental",
                    "multiple",
                ),
            ),
            FieldSpec("disability_grade", _I, True, "残疾等级", "Grade 1-4 (1 = most severe)"),
            FieldSpec("assessed_on", _DATE, True, "评定日期", "Date of the assessment"),
            _CERTIFICATE_NO,
        ),
        clause="R-7.4.2 c) 4)",
    ),
    # c) 5) rail and air travel as separate feeds (figure 2 draws only rail, as text data).
    Source(
        code="rail_travel",
        name_zh="铁路交通出行信息",
        name_en="Rail travel",
        department_zh="铁路运输企业",
        department_en="Railway operator",
        structure=_UNSTRUCT,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=1,
        fields=(
            FieldSpec("train_no", _S, True, "车次", "Train number"),
            FieldSpec("departure_station", _S, True, "出发站", "Departure station"),
            FieldSpec("arrival_station", _S, False, "到达站", "Arrival station"),
            FieldSpec("departure_time", _DT, True, "发车时间", "Scheduled departure time"),
            FieldSpec(
                "ticket_checked",
                _B,
                False,
                "已检票",
                "True if the ticket was checked at the gate (face-checked id)",
            ),
        ),
        clause="R-7.4.2 c) 5)",
    ),
    Source(
        code="air_travel",
        name_zh="航空出行信息",
        name_en="Air travel",
        department_zh="民用航空",
        department_en="Civil aviation",
        structure=_UNSTRUCT,  # travel data are text data, like rail in figure 2
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=1,
        fields=(
            FieldSpec("flight_no", _S, True, "航班号", "Flight number"),
            FieldSpec(
                "departure_airport", _S, True, "出发机场", "IATA code of the departure airport"
            ),
            FieldSpec("arrival_airport", _S, False, "到达机场", "IATA code of the arrival airport"),
            FieldSpec("departure_time", _DT, True, "起飞时间", "Scheduled departure time"),
            FieldSpec("boarded", _B, False, "已登机", "True if the passenger boarded"),
        ),
        clause="R-7.4.2 c) 5)",
    ),
    Source(
        code="traffic_violation",
        name_zh="交通违章信息",
        name_en="Traffic violations",
        department_zh=_POLICE_ZH,
        department_en=_POLICE_EN,
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=7,
        fields=(
            FieldSpec("violation_code", _S, True, "违法行为代码", "Code of the traffic offence"),
            FieldSpec(
                "plate_number_masked", _S, False, "号牌号码（脱敏）", "Vehicle plate, masked"
            ),
            FieldSpec("location", _S, False, "违法地点", "Place of the offence"),
            FieldSpec(
                "driver_confirmed",
                _B,
                False,
                "驾驶人确认",
                "True if the person was confirmed as the driver (handled it themselves)",
            ),
            FieldSpec("handled_on", _DATE, False, "处理日期", "Date the offence was handled"),
        ),
        clause="R-7.4.2 c) 5)",
    ),
    # ---- Direct evidence, alive: figure 2 and extras. --------------------------
    Source(
        code="community_correction",
        name_zh="社区矫正信息",
        name_en="Community correction",
        # Figure 2 draws it as a 公安 feed next to prison data but does not list it as
        # lost eligibility. Community correction (管制, 缓刑, 假释, 暂予监外执行) does not suspend
        # a pension, unlike imprisonment (国办函〔2001〕44号: people sentenced to public
        # surveillance, suspended sentences or serving outside prison keep drawing the basic
        # pension). The person must report in person regularly, so a record is direct proof of
        # life, not of lost eligibility.
        department_zh=_POLICE_ZH,
        department_en=_POLICE_EN,
        structure=_SEMI,
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIG_DATA,
        expected_delay_days=30,
        fields=(
            FieldSpec(
                "correction_kind",
                _E,
                True,
                "矫正类别",
                "Legal basis of the community correction",
                ("public_surveillance", "probation", "parole", "temporary_outside_execution"),
            ),
            FieldSpec("start_date", _DATE, True, "矫正开始日期", "Start of the correction"),
            FieldSpec("end_date", _DATE, False, "矫正结束日期", "End of the correction"),
            FieldSpec("last_report_date", _DATE, False, "最近报到日期", "Latest in-person report"),
            FieldSpec("office_code", _S, False, "矫正机构编码", "Code of the correction office"),
        ),
        clause="figure 2",
    ),
    Source(
        code="consular_app",
        name_zh="中国领事APP",
        name_en="China consular app (people living abroad)",
        department_zh="外交部领事司",
        department_en="Ministry of Foreign Affairs, consular department",
        structure=_STRUCT,  # an app channel, like the HRSS apps of figure 2
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.BIOMETRIC,  # biometric channel for people abroad
        expected_delay_days=0,
        fields=(
            FieldSpec(
                "country_code", _S, True, "所在国家代码", "ISO 3166-1 alpha-2 country of residence"
            ),
            FieldSpec(
                "result",
                _E,
                True,
                "认证结果",
                "Outcome of the liveness certification",
                ("passed", "failed"),
            ),
            _FACE_SCORE,
        ),
        clause="R-7.6.3",
    ),
    Source(
        code="home_visit",
        name_zh="上门认证信息",
        name_en="Home-visit certification",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,  # HRSS business data
        evidence=_ALIVE,
        loss_kind=None,
        method=CertificationMethod.HOME_VISIT,  # social-service certification, R-7.7
        expected_delay_days=3,
        fields=(
            FieldSpec("visitor_id", _S, True, "上门人员编号", "Id of the visiting staff member"),
            FieldSpec(
                "visitor_org",
                _E,
                True,
                "上门机构类型",
                "Who made the visit (R-4.5/4.6, R-7.7)",
                ("street_office", "community", "third_party_agency"),
            ),
            FieldSpec("visit_date", _DATE, True, "上门日期", "Date of the visit"),
            FieldSpec(
                "evidence_kind",
                _E,
                True,
                "留存凭证类型",
                "Kind of evidence kept (R-7.7)",
                ("photo", "video", "staff_statement"),
            ),
            FieldSpec("address", _S, False, "上门地址", "Address visited"),
        ),
        clause="R-7.7",
    ),
    # ---- Direct evidence, lost eligibility, R-7.4.2. -------------------------------------------
    Source(
        code="prison_sentence",
        name_zh="监狱服刑信息",
        name_en="Prison sentences being served",
        department_zh="司法行政部门（监狱管理）",
        department_en="Justice administration (prisons)",
        structure=_SEMI,
        evidence=_LOST,
        loss_kind=LossKind.PRISON,
        method=None,
        expected_delay_days=30,
        fields=(
            FieldSpec("prison_code", _S, True, "监狱编码", "Code of the prison"),
            FieldSpec("sentence_start", _DATE, True, "服刑开始日期", "Start of the sentence"),
            FieldSpec("expected_release", _DATE, False, "预计释放日期", "Expected release date"),
            FieldSpec(
                "released_on",
                _DATE,
                False,
                "释放日期",
                "Actual release date; a release record is this source with released_on set",
            ),
            FieldSpec(
                "penalty_kind",
                _E,
                False,
                "刑罚种类",
                "Penalty being served",
                ("criminal_detention", "fixed_term", "life", "death_suspended"),
            ),
        ),
        clause="R-7.4.2 lost a)",
    ),
    Source(
        code="funeral_cremation",
        name_zh="殡葬信息",
        name_en="Funeral and cremation",
        department_zh=_CIVIL_ZH,
        department_en=_CIVIL_EN,
        structure=_SEMI,
        evidence=_LOST,
        loss_kind=LossKind.DEATH,
        method=None,
        expected_delay_days=3,
        fields=(
            FieldSpec("death_date", _DATE, True, "死亡日期", "Date of death"),
            FieldSpec("cremation_date", _DATE, True, "火化日期", "Date of cremation"),
            FieldSpec("funeral_home", _S, False, "殡仪馆", "Name or code of the funeral home"),
            FieldSpec(
                "certificate_no", _S, False, "火化证明编号", "Number of the cremation certificate"
            ),
        ),
        clause="R-7.4.2 lost b)",
    ),
    Source(
        code="medical_death_certificate",
        name_zh="医学死亡证明信息",
        name_en="Medical death certificates",
        department_zh=_HEALTH_ZH,
        department_en=_HEALTH_EN,
        structure=_SEMI,
        evidence=_LOST,
        loss_kind=LossKind.DEATH,
        method=None,
        expected_delay_days=14,
        fields=(
            FieldSpec("certificate_no", _S, True, "死亡证明编号", "Number of the certificate"),
            FieldSpec("death_date", _DATE, True, "死亡日期", "Date of death"),
            FieldSpec(
                "death_place",
                _E,
                False,
                "死亡地点",
                "Where the death occurred",
                ("hospital", "en_route", "home", "elder_care_institution", "other"),
            ),
            FieldSpec(
                "institution_code", _S, False, "签发机构编码", "Code of the issuing institution"
            ),
            FieldSpec("cause_code", _S, False, "根本死因编码", "ICD-10 underlying cause of death"),
        ),
        clause="R-7.4.2 lost b)",
    ),
    Source(
        code="household_cancellation",
        name_zh="户籍注销信息",
        name_en="Household-registration cancellation",
        department_zh=_POLICE_ZH,
        department_en=_POLICE_EN,
        structure=_SEMI,  # other-department interface data (R-7.4 only, not drawn in figure 2)
        evidence=_LOST,
        # Registration is cancelled overwhelmingly because of death; cancellation_reason keeps the
        # actual reason, and a non-death reason is not proof of death for consumers.
        loss_kind=LossKind.DEATH,
        method=None,
        expected_delay_days=90,
        fields=(
            FieldSpec(
                "cancellation_reason",
                _E,
                True,
                "注销原因",
                "Reason for the cancellation",
                ("death", "declared_dead", "settled_abroad", "military_service", "other"),
            ),
            FieldSpec("cancellation_date", _DATE, True, "注销日期", "Date of the cancellation"),
            FieldSpec("death_date", _DATE, False, "死亡日期", "Date of death, when known"),
            FieldSpec("police_station_code", _S, False, "派出所编码", "Code of the police station"),
        ),
        clause="R-7.4.2 lost c)",
    ),
    # ---- Auxiliary evidence, alive, R-7.4.3. ---------------------------------------------------
    Source(
        code="voice_consultation",
        name_zh="语音咨询",
        name_en="Voice consultation (hotline audio)",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_UNSTRUCT,  # audio: recognised before extraction
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=1,
        fields=(
            FieldSpec("call_id", _S, True, "通话标识", "Id of the call"),
            FieldSpec("hotline", _S, False, "热线号码", "Hotline called, e.g. 12333"),
            FieldSpec("duration_seconds", _I, True, "通话时长（秒）", "Call duration in seconds"),
            FieldSpec(
                "voiceprint_match_score",
                _D,
                False,
                "声纹比对分值",
                "Voiceprint-comparison score, 0-100, when available",
            ),
        ),
        clause="R-7.4.3",
    ),
    Source(
        code="smart_consultation",
        name_zh="智能咨询",
        name_en="Smart (AI assistant) consultation",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_UNSTRUCT,  # audio column of figure 2
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=1,
        fields=(
            FieldSpec("session_id", _S, True, "会话标识", "Id of the consultation session"),
            FieldSpec(
                "channel",
                _E,
                True,
                "咨询渠道",
                "Channel of the consultation",
                ("phone", "app", "wechat", "website"),
            ),
            FieldSpec("turns", _I, False, "交互轮次", "Number of question-answer turns"),
            FieldSpec(
                "voiceprint_match_score",
                _D,
                False,
                "声纹比对分值",
                "Voiceprint-comparison score, 0-100, for voice sessions",
            ),
        ),
        clause="R-7.4.3",
    ),
    Source(
        code="social_security_card_transaction",
        name_zh="社保卡交易信息",
        name_en="Social-security card transactions",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,
        # Figure 2 draws it among the HRSS business data next to direct sources; labels it
        # auxiliary, and wins (anyone holding the card and PIN can use it).
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=1,
        fields=(
            FieldSpec(
                "transaction_kind",
                _E,
                True,
                "交易类型",
                "Kind of transaction",
                ("medical", "pharmacy", "cash_withdrawal", "transfer", "purchase", "transit"),
            ),
            FieldSpec("amount", _D, True, "交易金额", "Amount, in yuan"),
            FieldSpec("merchant_code", _S, False, "商户编码", "Code of the merchant"),
            FieldSpec(
                "terminal_kind",
                _E,
                False,
                "终端类型",
                "Kind of terminal",
                ("pos", "atm", "counter", "online"),
            ),
        ),
        clause="R-7.4.3",
    ),
    Source(
        code="website_login",
        name_zh="网站登录访问日志",
        name_en="Website login and access logs",
        department_zh=_HRSS_ZH,
        department_en=_HRSS_EN,
        structure=_STRUCT,  # HRSS's own online-service behaviour data (R-7.4.3, not in figure 2)
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=0,
        fields=(
            FieldSpec("site_code", _S, True, "网站标识", "Id of the HRSS website"),
            FieldSpec(
                "login_method",
                _E,
                True,
                "登录方式",
                "How the person logged in",
                ("password", "sms_code", "face", "digital_certificate"),
            ),
            FieldSpec("client_ip_masked", _S, False, "访问IP（脱敏）", "Client IP, masked"),
            FieldSpec("session_seconds", _I, False, "会话时长（秒）", "Session length in seconds"),
        ),
        clause="R-7.4.3",
    ),
    Source(
        code="outpatient_settlement",
        name_zh="医疗费用结算信息（除住院外）",
        name_en="Out-patient medical settlements",
        department_zh=_NHSA_ZH,
        department_en=_NHSA_EN,
        structure=_SEMI,
        # Figure 2 draws it with the direct medical-insurance feeds; labels it auxiliary,
        # and wins.
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=1,
        fields=(
            _INSTITUTION_CODE,
            FieldSpec("settlement_date", _DATE, True, "结算日期", "Date of the settlement"),
            FieldSpec("total_cost", _D, True, "医疗总费用", "Total cost, in yuan"),
            FieldSpec("fund_paid", _D, False, "统筹基金支付", "Part paid by the pooled fund"),
            FieldSpec(
                "visit_kind",
                _E,
                False,
                "就诊类型",
                "Kind of visit",
                ("outpatient", "emergency", "chronic_disease_outpatient"),
            ),
        ),
        clause="R-7.4.3",
    ),
    Source(
        code="pharmacy_purchase",
        # The draft prints 购药视频信息, a slip for 购药消费信息 (pharmacy purchases, as the English
        # of has it).
        name_zh="购药消费信息",
        name_en="Pharmacy purchases",
        department_zh=_NHSA_ZH,
        department_en=_NHSA_EN,
        structure=_SEMI,  # settled through the medical-insurance interface
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=1,
        fields=(
            FieldSpec("pharmacy_code", _S, True, "定点药店编码", "Code of the designated pharmacy"),
            FieldSpec("amount", _D, True, "购药金额", "Amount, in yuan"),
            FieldSpec(
                "payment_kind",
                _E,
                False,
                "支付方式",
                "How the purchase was paid",
                ("social_security_card", "medical_insurance_code", "other"),
            ),
            FieldSpec("item_count", _I, False, "药品数量", "Number of items bought"),
        ),
        clause="R-7.4.3",
    ),
    Source(
        code="transit_trip",
        # R-7.4.3 prints 公共交通消息信息 and figure 2's layout puts 消费信息 beside 卫健委;
        # both are read as public-transport fare payments (trips), as R-7.4.3's English has it.
        name_zh="公共交通消费信息",
        name_en="Public-transport trips (fare payments)",
        department_zh=_TRANSIT_ZH,
        department_en=_TRANSIT_EN,
        structure=_UNSTRUCT,
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=1,
        fields=(
            _TRANSIT_CARD,
            _CITY_CODE,
            FieldSpec(
                "mode",
                _E,
                True,
                "交通方式",
                "Mode of transport",
                ("bus", "metro", "ferry", "other"),
            ),
            FieldSpec("fare", _D, False, "票价", "Fare charged, in yuan"),
            _TRANSIT_CARD_KIND,
        ),
        clause="R-7.4.3",
    ),
    Source(
        code="transit_card_opening",
        name_zh="公共交通开卡信息",
        name_en="Public-transport card opening",
        department_zh=_TRANSIT_ZH,
        department_en=_TRANSIT_EN,
        structure=_UNSTRUCT,
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=1,
        fields=(
            _TRANSIT_CARD,
            _CITY_CODE,
            _TRANSIT_CARD_KIND,
            FieldSpec("outlet_code", _S, False, "网点编码", "Code of the service outlet"),
        ),
        clause="R-7.4.3",
    ),
    Source(
        code="transit_card_reissue",
        name_zh="公共交通补卡信息",
        name_en="Public-transport card reissue",
        department_zh=_TRANSIT_ZH,
        department_en=_TRANSIT_EN,
        structure=_UNSTRUCT,
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=1,
        fields=(
            _TRANSIT_CARD,
            _CITY_CODE,
            FieldSpec(
                "old_card_no_masked", _S, False, "原卡号（脱敏）", "Number of the replaced card"
            ),
            _TRANSIT_CARD_KIND,
        ),
        clause="R-7.4.3",
    ),
    Source(
        code="transit_topup",
        name_zh="公共交通充值信息",
        name_en="Public-transport card top-up",
        department_zh=_TRANSIT_ZH,
        department_en=_TRANSIT_EN,
        structure=_UNSTRUCT,
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=1,
        fields=(
            _TRANSIT_CARD,
            FieldSpec("amount", _D, True, "充值金额", "Amount topped up, in yuan"),
            _CITY_CODE,
            FieldSpec(
                "channel",
                _E,
                False,
                "充值渠道",
                "Where the card was topped up",
                ("counter", "machine", "mobile"),
            ),
        ),
        clause="R-7.4.3",
    ),
    Source(
        code="public_health_record",
        name_zh="公共卫生信息",
        name_en="Public-health records",
        department_zh=_HEALTH_ZH,
        department_en=_HEALTH_EN,
        structure=_UNSTRUCT,  # figure 2 draws the 卫健委 records in the unstructured column
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=30,
        fields=(
            FieldSpec(
                "service_kind",
                _E,
                True,
                "服务类型",
                "Kind of public-health service",
                (
                    "health_checkup",
                    "chronic_disease_followup",
                    "vaccination",
                    "family_doctor",
                    "other",
                ),
            ),
            _INSTITUTION_CODE,
            FieldSpec("service_date", _DATE, True, "服务日期", "Date of the service"),
        ),
        clause="R-7.4.3",
    ),
    # ---- Auxiliary evidence, alive: figure 2 boxes does not label. -----------------------
    Source(
        code="police_identity_verification",
        name_zh="身份验证信息",
        name_en="Police identity verification",
        department_zh=_POLICE_ZH,
        department_en=_POLICE_EN,
        structure=_SEMI,
        # Figure 2 only. Many verifications are a third party checking an id number against the
        # police database without the person present, so it is only auxiliary evidence.
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=1,
        fields=(
            FieldSpec(
                "verification_kind",
                _E,
                True,
                "验证方式",
                "How the identity was verified",
                ("id_number_check", "id_card_reader", "online_face"),
            ),
            FieldSpec(
                "result",
                _E,
                True,
                "验证结果",
                "Outcome of the verification",
                ("match", "mismatch"),
            ),
            FieldSpec("requesting_org", _S, False, "请求机构", "Organisation that asked"),
            _FACE_SCORE,
        ),
        clause="figure 2",
    ),
    Source(
        code="mobile_payment",
        name_zh="移动运营商缴费数据",
        name_en="Mobile top-up and bill payments",
        department_zh=_TELCO_ZH,
        department_en=_TELCO_EN,
        structure=_UNSTRUCT,
        # Figure 2 only; c) 2) makes only card opening direct. Payments are often made by
        # relatives or standing orders, so they are auxiliary evidence.
        evidence=_AUX,
        loss_kind=None,
        method=None,
        expected_delay_days=1,
        fields=(
            _OPERATOR,
            _PHONE_MASKED,
            FieldSpec("amount", _D, True, "缴费金额", "Amount paid, in yuan"),
            FieldSpec(
                "payment_channel",
                _E,
                False,
                "缴费渠道",
                "How the payment was made",
                ("counter", "online", "auto_debit", "prepaid_card"),
            ),
        ),
        clause="figure 2",
    ),
)


def _index(sources: tuple[Source, ...]) -> Mapping[str, Source]:
    index: dict[str, Source] = {}
    for source in sources:
        if source.code in index:
            raise ValueError(f"duplicate source code {source.code!r}")
        index[source.code] = source
    return MappingProxyType(index)


CATALOGUE: Mapping[str, Source] = _index(_SOURCES)
"""Every source by code, read-only, in catalogue order (R-7.3.1, R-7.4, R-8.2.2)."""


def get_source(code: str) -> Source:
    """Return the source with ``code``; raise :class:`UnknownSource` if there is none."""
    try:
        return CATALOGUE[code]
    except KeyError:
        raise UnknownSource(code) from None


def sources_by_evidence(evidence: EvidenceClass) -> tuple[Source, ...]:
    """Return the sources labelled ``evidence`` (R-7.4.1), in catalogue order."""
    return tuple(s for s in CATALOGUE.values() if s.evidence is evidence)
