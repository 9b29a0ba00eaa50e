"""Tests of the source catalogue (R-7.3.1 figure 2, R-7.4, R-7.6.3, R-8.2.2)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from lifesign.catalogue import (
    CATALOGUE,
    CertificationMethod,
    EvidenceClass,
    FieldSpec,
    FieldType,
    LossKind,
    Source,
    StructureClass,
    UnknownSource,
    get_source,
    sources_by_evidence,
)

SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
COMMON = {"record_id", "id_number", "id_type", "name", "occurred_at", "region", "region_code"}

# direct evidence of eligibility (具备领取待遇资格).
R742_ALIVE_ZH = [
    # a) 1)
    "劳动能力鉴定信息",
    "参保登记信息",
    "人工认证信息",
    "异地认证信息",
    "工伤认定信息",
    "定期待遇领取人员变更信息",
    "老年人体检补助信息",
    "困难家庭人员信息",
    # a) 2)
    "人力资源和社会保障部掌上12333APP",
    "人力资源和社会保障部签发的电子社保卡",
    "各级“人社”微信公众号",
    "各级“人社”APP手机客户端",
    "服务窗口自助服务设备",
    # b)
    "医疗保险缴费信息",
    "住院病历信息",
    "医疗待遇申请信息",
    "住院结算信息",
    "异地转诊急诊申请信息",
    "长期护理保险服务信息",
    # c)
    "银行开卡信息",
    "银行补卡信息",
    "银行挂失信息",
    "银行修改密码信息",
    "通信运营商开卡数据",
    "婚姻登记信息",
    "残疾认定信息",
    "铁路交通出行信息",
    "航空出行信息",
    "交通违章信息",
]
# direct evidence of lost eligibility (丧失领取待遇资格).
R742_LOST_ZH = ["监狱服刑信息", "殡葬信息", "医学死亡证明信息", "户籍注销信息"]
# auxiliary evidence.
R743_AUX_ZH = [
    "语音咨询",
    "智能咨询",
    "社保卡交易信息",
    "网站登录访问日志",
    "医疗费用结算信息（除住院外）",
    "购药消费信息",
    "公共交通消费信息",
    "公共交通开卡信息",
    "公共交通补卡信息",
    "公共交通充值信息",
    "公共卫生信息",
]

# Every box of figure 2, by column (R-7.3.1.2).
FIGURE_2 = {
    StructureClass.STRUCTURED: [
        "insurance_registration",
        "manual_certification",
        "remote_certification",
        "pensioner_change",
        "social_security_card_transaction",
        "app_12333",
        "e_social_security_card",
        "hr_wechat_account",
        "hr_mobile_app",
        "self_service_kiosk",
    ],
    StructureClass.SEMI_STRUCTURED: [
        "marriage_registration",
        "traffic_violation",
        "police_identity_verification",
        "medical_death_certificate",
        "funeral_cremation",
        "elderly_checkup_subsidy",
        "poor_family",
        "disability_determination",
        "medical_insurance_contribution",
        "inpatient_record",
        "medical_benefit_application",
        "inpatient_settlement",
        "referral_emergency_application",
        "long_term_care",
        "outpatient_settlement",
        "prison_sentence",
        "community_correction",
    ],
    StructureClass.UNSTRUCTURED: [
        "bank_card_opening",
        "bank_card_reissue",
        "bank_card_loss_report",
        "bank_card_password_change",
        "mobile_card_opening",
        "mobile_payment",
        "rail_travel",
        "transit_card_opening",
        "transit_card_reissue",
        "transit_topup",
        "transit_trip",
        "public_health_record",
        "voice_consultation",
        "smart_consultation",
    ],
}


def _zh_names(evidence: EvidenceClass) -> set[str]:
    return {s.name_zh for s in sources_by_evidence(evidence)}


def test_catalogue_size() -> None:
    assert len(CATALOGUE) >= 35


def test_codes_unique_snake_case_and_keys_match() -> None:
    codes = [s.code for s in CATALOGUE.values()]
    assert len(codes) == len(set(codes))
    for key, source in CATALOGUE.items():
        assert key == source.code
        assert SNAKE.fullmatch(source.code), source.code


def test_feed_topics_unique_and_formatted() -> None:
    topics = [s.feed_topic for s in CATALOGUE.values()]
    assert len(topics) == len(set(topics))
    assert get_source("funeral_cremation").feed_topic == "feed.funeral_cremation.v1"
    for source in CATALOGUE.values():
        assert source.feed_topic == f"feed.{source.code}.v1"


def test_zh_names_unique() -> None:
    names = [s.name_zh for s in CATALOGUE.values()]
    assert len(names) == len(set(names))


def test_loss_kind_set_iff_direct_lost() -> None:
    for source in CATALOGUE.values():
        if source.evidence is EvidenceClass.DIRECT_LOST:
            assert isinstance(source.loss_kind, LossKind), source.code
        else:
            assert source.loss_kind is None, source.code


def test_method_set_iff_direct_alive() -> None:
    for source in CATALOGUE.values():
        if source.evidence is EvidenceClass.DIRECT_ALIVE:
            assert isinstance(source.method, CertificationMethod), source.code
        else:
            assert source.method is None, source.code


def test_is_direct() -> None:
    for source in CATALOGUE.values():
        assert source.is_direct == (source.evidence is not EvidenceClass.AUXILIARY_ALIVE)


@pytest.mark.parametrize(
    ("code", "evidence", "loss_kind", "method"),
    [
        ("funeral_cremation", EvidenceClass.DIRECT_LOST, LossKind.DEATH, None),
        ("medical_death_certificate", EvidenceClass.DIRECT_LOST, LossKind.DEATH, None),
        ("household_cancellation", EvidenceClass.DIRECT_LOST, LossKind.DEATH, None),
        ("prison_sentence", EvidenceClass.DIRECT_LOST, LossKind.PRISON, None),
        (
            "bank_card_password_change",
            EvidenceClass.DIRECT_ALIVE,
            None,
            CertificationMethod.BIG_DATA,
        ),
        ("app_12333", EvidenceClass.DIRECT_ALIVE, None, CertificationMethod.BIOMETRIC),
        ("inpatient_record", EvidenceClass.DIRECT_ALIVE, None, CertificationMethod.BIG_DATA),
        ("transit_topup", EvidenceClass.AUXILIARY_ALIVE, None, None),
        # Community correction does not suspend a pension, unlike prison.
        ("community_correction", EvidenceClass.DIRECT_ALIVE, None, CertificationMethod.BIG_DATA),
        ("manual_certification", EvidenceClass.DIRECT_ALIVE, None, CertificationMethod.MANUAL),
        ("home_visit", EvidenceClass.DIRECT_ALIVE, None, CertificationMethod.HOME_VISIT),
    ],
)
def test_named_codes(
    code: str,
    evidence: EvidenceClass,
    loss_kind: LossKind | None,
    method: CertificationMethod | None,
) -> None:
    source = get_source(code)
    assert source.evidence is evidence
    assert source.loss_kind is loss_kind
    assert source.method is method


def test_named_code_departments() -> None:
    assert get_source("funeral_cremation").department_zh.startswith("民政")
    assert get_source("medical_death_certificate").department_zh.startswith("卫生健康")
    assert get_source("household_cancellation").department_zh.startswith("公安")
    assert get_source("inpatient_record").department_zh.startswith("医疗保障")
    assert get_source("app_12333").name_zh == "人力资源和社会保障部掌上12333APP"


def test_r742_direct_alive_items_covered() -> None:
    missing = set(R742_ALIVE_ZH) - _zh_names(EvidenceClass.DIRECT_ALIVE)
    assert not missing


def test_r742_direct_lost_items_covered_exactly() -> None:
    assert _zh_names(EvidenceClass.DIRECT_LOST) == set(R742_LOST_ZH)


def test_r743_auxiliary_items_covered() -> None:
    missing = set(R743_AUX_ZH) - _zh_names(EvidenceClass.AUXILIARY_ALIVE)
    assert not missing


def test_r74_wins_over_figure_2() -> None:
    # Drawn with direct sources in figure 2, labelled auxiliary by.
    for code in ("social_security_card_transaction", "outpatient_settlement"):
        assert get_source(code).evidence is EvidenceClass.AUXILIARY_ALIVE


def test_figure_2_boxes_covered_with_structure_class() -> None:
    for structure, codes in FIGURE_2.items():
        for code in codes:
            assert get_source(code).structure is structure, code


def test_every_source_is_from_r74_figure_2_or_channels() -> None:
    listed = set(R742_ALIVE_ZH) | set(R742_LOST_ZH) | set(R743_AUX_ZH)
    figure_2 = {code for codes in FIGURE_2.values() for code in codes}
    extras = {"community_correction", "consular_app", "home_visit"}
    for source in CATALOGUE.values():
        assert source.name_zh in listed or source.code in figure_2 or source.code in extras, (
            source.code
        )


def test_biometric_sources_are_the_r763_channels() -> None:
    biometric = {s.code for s in CATALOGUE.values() if s.method is CertificationMethod.BIOMETRIC}
    assert biometric == {
        "app_12333",
        "e_social_security_card",
        "hr_wechat_account",
        "hr_mobile_app",
        "self_service_kiosk",
        "consular_app",
    }


def test_sources_by_evidence_partitions_catalogue_in_order() -> None:
    order = list(CATALOGUE)
    seen: list[str] = []
    for evidence in EvidenceClass:
        group = sources_by_evidence(evidence)
        assert group
        assert all(s.evidence is evidence for s in group)
        codes = [s.code for s in group]
        assert codes == sorted(codes, key=order.index)
        seen.extend(codes)
    assert sorted(seen) == sorted(order)


def test_fields_count_names_and_no_common_attributes() -> None:
    for source in CATALOGUE.values():
        assert 2 <= len(source.fields) <= 6, source.code
        names = [f.name for f in source.fields]
        assert len(names) == len(set(names)), source.code
        assert not COMMON & set(names), source.code
        assert any(f.required for f in source.fields), source.code
        for spec in source.fields:
            assert SNAKE.fullmatch(spec.name), (source.code, spec.name)
            assert spec.name_zh
            assert spec.description


def test_enum_fields_have_domains_and_others_do_not() -> None:
    for source in CATALOGUE.values():
        for spec in source.fields:
            if spec.type is FieldType.ENUM:
                assert spec.domain, (source.code, spec.name)
                assert len(spec.domain) == len(set(spec.domain))
                assert all(SNAKE.fullmatch(v) for v in spec.domain), (source.code, spec.name)
            else:
                assert spec.domain == (), (source.code, spec.name)


def test_field_lookup() -> None:
    funeral = get_source("funeral_cremation")
    assert funeral.field("cremation_date") == FieldSpec(
        "cremation_date", FieldType.DATE, True, "火化日期", "Date of cremation"
    )
    assert funeral.field("death_date").required
    prison = get_source("prison_sentence")
    assert prison.field("sentence_start").type is FieldType.DATE
    assert not prison.field("released_on").required
    channel = get_source("bank_card_password_change").field("channel")
    assert set(channel.domain) == {"counter", "atm", "mobile", "online"}
    assert get_source("inpatient_record").field("total_cost").type is FieldType.DECIMAL
    with pytest.raises(KeyError):
        funeral.field("no_such_field")


def test_expected_delays() -> None:
    delays = {code: get_source(code).expected_delay_days for code in CATALOGUE}
    assert all(d >= 0 for d in delays.values())
    assert delays["app_12333"] == 0
    assert delays["bank_card_password_change"] == 1
    assert delays["funeral_cremation"] == 3
    assert delays["medical_death_certificate"] == 14
    assert delays["household_cancellation"] == 90


def test_clause_cited() -> None:
    for source in CATALOGUE.values():
        assert source.clause.startswith(("R-7.4.2", "R-7.4.3", "R-7.6.3", "R-7.7", "figure 2"))


def test_get_source_unknown() -> None:
    with pytest.raises(UnknownSource) as info:
        get_source("no_such_source")
    assert info.value.code == "no_such_source"
    assert str(info.value) == "unknown source 'no_such_source'"
    assert isinstance(info.value, KeyError)


def test_mapping_is_read_only() -> None:
    source = get_source("transit_topup")
    with pytest.raises(TypeError):
        CATALOGUE["new"] = source  # type: ignore[index]
    with pytest.raises(TypeError):
        del CATALOGUE["transit_topup"]  # type: ignore[attr-defined]
    assert "new" not in CATALOGUE


def test_sources_are_immutable() -> None:
    source = get_source("funeral_cremation")
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.code = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        source.fields[0].required = False  # type: ignore[misc]


def _valid_kwargs() -> dict[str, object]:
    return {
        "code": "example",
        "name_zh": "示例",
        "name_en": "Example",
        "department_zh": "示例部门",
        "department_en": "Example department",
        "structure": StructureClass.STRUCTURED,
        "evidence": EvidenceClass.AUXILIARY_ALIVE,
        "loss_kind": None,
        "method": None,
        "expected_delay_days": 0,
        "fields": (FieldSpec("x", FieldType.STRING, True, "甲", "X"),),
        "clause": "figure 2",
    }


@pytest.mark.parametrize(
    "override",
    [
        {"code": "Not-Snake"},
        {"evidence": EvidenceClass.DIRECT_LOST},
        {"loss_kind": LossKind.DEATH},
        {"evidence": EvidenceClass.DIRECT_ALIVE},
        {"method": CertificationMethod.BIG_DATA},
        {"expected_delay_days": -1},
        {"fields": (FieldSpec("occurred_at", FieldType.DATETIME, True, "时间", "T"),)},
        {
            "fields": (
                FieldSpec("x", FieldType.STRING, True, "甲", "X"),
                FieldSpec("x", FieldType.DATE, False, "乙", "Y"),
            )
        },
    ],
)
def test_invalid_source_rejected(override: dict[str, object]) -> None:
    Source(**_valid_kwargs())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Source(**(_valid_kwargs() | override))  # type: ignore[arg-type]


def test_invalid_field_spec_rejected() -> None:
    with pytest.raises(ValueError):
        FieldSpec("kind", FieldType.ENUM, True, "类型", "Kind")
    with pytest.raises(ValueError):
        FieldSpec("note", FieldType.STRING, False, "备注", "Note", ("a",))
    with pytest.raises(ValueError):
        FieldSpec("kind", FieldType.ENUM, True, "类型", "Kind", ("a", "a"))
