"""What happens to each pensioner over the simulated period, and what data it leaves.

For a chunk of people (vectorised with numpy, deterministic for the chunk's generator):

* **Death** by age and sex from :mod:`lifesign_sim.mortality`; before death, more hospital
  stays. Each death is reported by departments with their own delays (funeral records in
  days, medical death certificates in weeks, household cancellation in months); some deaths
  are reported by nobody (died abroad, or in a province that shares no data).
* **Impersonation** (冒领): for a share of deaths, relatives keep using the card or account
  for months: auxiliary signals, now and then a bank-card event, that look alive.
* **Prison** (rare) with a release later; **never-certifying** people leave no direct
  evidence at all.
* **Behaviour**: each profile has yearly rates per source (Poisson); events stop at death
  and during a prison term.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
from numpy.typing import NDArray

from lifesign.catalogue import CATALOGUE, EvidenceClass
from lifesign_sim.mortality import annual_q
from lifesign_sim.population import Person, Profile

SOURCES: tuple[str, ...] = tuple(CATALOGUE)
SOURCE_INDEX = {code: i for i, code in enumerate(SOURCES)}
DIRECT_ALIVE = np.array(
    [CATALOGUE[c].evidence is EvidenceClass.DIRECT_ALIVE for c in SOURCES], dtype=bool
)

#: Yearly rates of records per source for each behaviour profile (assumptions, chosen so
#: that a digitally active urban pensioner leaves a few direct records a year and many
#: auxiliary ones, a rural one little, a bedridden one care and hospital records).
RATES: dict[Profile, dict[str, float]] = {
    Profile.URBAN_ACTIVE: {
        "app_12333": 0.5, "e_social_security_card": 0.8, "hr_wechat_account": 0.2,
        "bank_card_password_change": 0.15, "bank_card_reissue": 0.05,
        "bank_card_loss_report": 0.04, "rail_travel": 0.8, "air_travel": 0.15,
        "traffic_violation": 0.03, "pensioner_change": 0.1, "mobile_card_opening": 0.03,
        "transit_trip": 3.0, "transit_topup": 2.0, "social_security_card_transaction": 2.0,
        "website_login": 1.0, "outpatient_settlement": 2.0, "pharmacy_purchase": 2.0,
        "smart_consultation": 0.3, "public_health_record": 0.8, "mobile_payment": 1.5,
    },
    Profile.RURAL_LOW: {
        "elderly_checkup_subsidy": 0.4, "bank_card_password_change": 0.05,
        "inpatient_record": 0.1, "inpatient_settlement": 0.1, "poor_family": 0.05,
        "outpatient_settlement": 1.5, "pharmacy_purchase": 1.5,
        "social_security_card_transaction": 1.5, "public_health_record": 1.0,
        "mobile_payment": 0.5,
    },
    Profile.BEDRIDDEN: {
        "long_term_care": 3.0, "inpatient_record": 0.4, "inpatient_settlement": 0.4,
        "medical_benefit_application": 0.2, "outpatient_settlement": 2.0,
        "pharmacy_purchase": 3.0, "public_health_record": 1.0,
    },
    Profile.FREQUENT_PATIENT: {
        "inpatient_record": 2.0, "inpatient_settlement": 2.0,
        "referral_emergency_application": 0.3, "medical_benefit_application": 0.5,
        "bank_card_password_change": 0.1, "outpatient_settlement": 6.0,
        "pharmacy_purchase": 4.0, "social_security_card_transaction": 3.0,
        "public_health_record": 2.0,
    },
    Profile.ABROAD: {"consular_app": 0.8, "website_login": 1.0},
}  # fmt: skip

#: How each profile certifies by habit (R-7.6.3 channels, R-7.7 visits).
SELF_CERTIFICATION: dict[Profile, str] = {
    Profile.URBAN_ACTIVE: "app_12333",
    Profile.RURAL_LOW: "manual_certification",
    Profile.BEDRIDDEN: "home_visit",
    Profile.FREQUENT_PATIENT: "app_12333",
    Profile.ABROAD: "consular_app",
}

#: What relatives keep using after a death (auxiliary, and now and then the bank card).
IMPERSONATION_RATES: dict[str, float] = {
    "social_security_card_transaction": 6.0,
    "transit_topup": 2.0,
    "mobile_payment": 4.0,
    "pharmacy_purchase": 2.0,
    "bank_card_password_change": 0.3,
}
#: Reports of a death: (source, probability, median delay in days, spread of log-delay).
DEATH_REPORTS: tuple[tuple[str, float, float, float], ...] = (
    ("funeral_cremation", 0.85, 3.0, 0.5),
    ("medical_death_certificate", 0.6, 14.0, 0.6),
    ("household_cancellation", 0.9, 75.0, 0.5),
)


@dataclass(frozen=True)
class LifeConfig:
    mortality_scale: float = 1.5
    unreported_death_share: float = 0.03  # died abroad / in a province sharing no data
    impersonation_share: float = 0.04  # of deaths: relatives keep using card and account
    impersonation_days: tuple[int, int] = (30, 365)
    prison_per_year: float = 0.0003
    prison_days: tuple[int, int] = (90, 1095)
    never_certify_share: float = 0.01
    moves_per_year: float = 0.02  # moving house: a change of address at the agency
    # The yearly certification habit: most people certify themselves around the date they
    # did last year (a face check in the app, at a kiosk, or a visit for the bedridden).
    self_certify_share: float = 0.85
    self_certify_spread_days: float = 20.0
    hospital_before_death: float = 0.5  # chance of a stay in the last 60 days


@dataclass(slots=True)
class Life:
    """The truth of one person over the period."""

    death_date: date | None = None
    death_reports: list[tuple[str, date, int]] = field(
        default_factory=list
    )  # source, death day, delay days
    impersonated_until: date | None = None
    prison_start: date | None = None
    prison_end: date | None = None
    never_certifies: bool = False
    moved_on: date | None = None
    moved_to: str | None = None

    def death_reported_before(self, end: datetime) -> bool:
        """Whether a department's death record reaches the feeds before ``end``: a report
        due later is not published within the period, so nothing could act on it."""
        return any(death_report_time(death, delay) < end for _, death, delay in self.death_reports)


def death_report_time(death: date, delay: int) -> datetime:
    """When a department publishes its record of a death: 11:00, ``delay`` days after."""
    return datetime.combine(death, time(9)) + timedelta(days=delay, hours=2)


@dataclass(slots=True)
class Occurrences:
    """Events of a chunk as parallel arrays: who (index into the chunk), which source,
    when (seconds after the period start), and whether it is an impersonation."""

    who: NDArray[np.int64]
    source: NDArray[np.int64]
    second: NDArray[np.int64]
    impersonation: NDArray[np.bool_]


def simulate_lives(
    people: list[Person], rng: np.random.Generator, start: date, days: int, config: LifeConfig
) -> list[Life]:
    """Death, reporting, impersonation, prison, for each person of the chunk."""
    n = len(people)
    ages = np.array([_age(p.birth_date, start) for p in people], dtype=np.int64)
    male = np.array([p.sex == "M" for p in people], dtype=bool)
    q = annual_q(ages, male, config.mortality_scale)
    # Death time: the period's hazard, with the day drawn by inverting the survival curve.
    u = rng.random(n)
    p_period = 1.0 - (1.0 - q) ** (days / 365.0)
    death_day = np.floor(np.log1p(-u) / np.log1p(-q) * 365.0).astype(np.int64)
    dies = u < p_period
    unreported = rng.random(n) < config.unreported_death_share
    abroad = np.array([p.abroad for p in people], dtype=bool)
    impersonated = rng.random(n) < config.impersonation_share
    impersonation_len = rng.integers(*config.impersonation_days, size=n)
    report_draws = rng.random((n, len(DEATH_REPORTS)))
    delay_noise = rng.standard_normal((n, len(DEATH_REPORTS)))
    jailed = rng.random(n) < config.prison_per_year * days / 365.0
    prison_start = rng.integers(0, days, size=n)
    prison_len = rng.integers(*config.prison_days, size=n)
    never = rng.random(n) < config.never_certify_share
    moves = rng.random(n) < config.moves_per_year * days / 365.0
    move_day = rng.integers(0, days, size=n)
    # A new home in the province: the residence of another pensioner of the chunk.
    move_to = rng.integers(0, n, size=n)
    lives = []
    for i in range(n):
        life = Life(never_certifies=bool(never[i]))
        if dies[i]:
            death = start + timedelta(days=int(death_day[i]))
            life.death_date = death
            if not (unreported[i] or abroad[i]):
                for k, (source, probability, median, spread) in enumerate(DEATH_REPORTS):
                    if report_draws[i, k] < probability:
                        delay = max(0, round(median * float(np.exp(spread * delay_noise[i, k]))))
                        life.death_reports.append((source, death, delay))
            if impersonated[i]:
                life.impersonated_until = death + timedelta(days=int(impersonation_len[i]))
        elif jailed[i]:
            life.prison_start = start + timedelta(days=int(prison_start[i]))
            life.prison_end = life.prison_start + timedelta(days=int(prison_len[i]))
        moved = start + timedelta(days=int(move_day[i]))
        if moves[i] and (life.death_date is None or moved < life.death_date):
            life.moved_on = moved
            life.moved_to = people[int(move_to[i])].residence_region
        lives.append(life)
    return lives


def occurrences(
    people: list[Person],
    lives: list[Life],
    rng: np.random.Generator,
    start: date,
    days: int,
    config: LifeConfig,
) -> Occurrences:
    """Every behaviour event of the chunk (before filtering by reporting time)."""
    whos: list[NDArray[np.int64]] = []
    sources: list[NDArray[np.int64]] = []
    seconds: list[NDArray[np.int64]] = []
    flags: list[NDArray[np.bool_]] = []
    span = days * 86400
    by_profile: dict[Profile, list[int]] = {}
    for i, person in enumerate(people):
        by_profile.setdefault(person.profile, []).append(i)
    for profile in Profile:
        members = np.array(by_profile.get(profile, []), dtype=np.int64)
        if members.size == 0:
            continue
        for code, rate in RATES[profile].items():
            counts = rng.poisson(rate * days / 365.0, size=members.size)
            who = np.repeat(members, counts)
            whos.append(who)
            sources.append(np.full(who.size, SOURCE_INDEX[code], dtype=np.int64))
            seconds.append(_daytime_seconds(rng, who.size, span))
            flags.append(np.zeros(who.size, dtype=bool))
    _before_death(lives, rng, start, whos, sources, seconds, flags, config)
    _self_certification(people, rng, start, span, whos, sources, seconds, flags, config)
    _impersonation(lives, rng, start, span, whos, sources, seconds, flags)
    who = np.concatenate(whos) if whos else np.zeros(0, dtype=np.int64)
    source = np.concatenate(sources) if sources else np.zeros(0, dtype=np.int64)
    second = np.concatenate(seconds) if seconds else np.zeros(0, dtype=np.int64)
    imp = np.concatenate(flags) if flags else np.zeros(0, dtype=bool)
    keep = _alive_at(lives, start, who, second, imp) & ~_silenced(lives, who, source, imp)
    return Occurrences(who[keep], source[keep], second[keep], imp[keep])


def _daytime_seconds(rng: np.random.Generator, size: int, span: int) -> NDArray[np.int64]:
    # Records happen in the daytime: a uniform day, then 07:00-21:00.
    day = rng.integers(0, span // 86400, size=size)
    return day * 86400 + rng.integers(7 * 3600, 21 * 3600, size=size)


def _before_death(
    lives: list[Life],
    rng: np.random.Generator,
    start: date,
    whos: list[NDArray[np.int64]],
    sources: list[NDArray[np.int64]],
    seconds: list[NDArray[np.int64]],
    flags: list[NDArray[np.bool_]],
    config: LifeConfig,
) -> None:
    """More hospital stays in the last two months of life."""
    dying = [i for i, life in enumerate(lives) if life.death_date is not None]
    if not dying:
        return
    who = np.array(dying, dtype=np.int64)
    who = who[rng.random(who.size) < config.hospital_before_death]
    death_second = np.array(
        [(_death(lives[int(i)]) - start).days * 86400 for i in who], dtype=np.int64
    )
    for code in ("inpatient_record", "inpatient_settlement"):
        back = rng.integers(1, 60 * 86400, size=who.size)
        whos.append(who)
        sources.append(np.full(who.size, SOURCE_INDEX[code], dtype=np.int64))
        seconds.append(np.maximum(death_second - back, 0))
        flags.append(np.zeros(who.size, dtype=bool))


def _self_certification(
    people: list[Person],
    rng: np.random.Generator,
    start: date,
    span: int,
    whos: list[NDArray[np.int64]],
    sources: list[NDArray[np.int64]],
    seconds: list[NDArray[np.int64]],
    flags: list[NDArray[np.bool_]],
    config: LifeConfig,
) -> None:
    """Each year, around the date of their last certification, most people certify."""
    n = len(people)
    last = np.array(
        [((p.last_certified_on or p.benefit_start) - start).days for p in people], dtype=np.int64
    )
    willing = rng.random(n) < config.self_certify_share
    for year in (1, 2, 3):
        due = last + 365 * year + np.round(rng.normal(0, config.self_certify_spread_days, n))
        second = due.astype(np.int64) * 86400 + rng.integers(9 * 3600, 17 * 3600, size=n)
        pick = willing & (second >= 0) & (second < span)
        who = np.nonzero(pick)[0].astype(np.int64)
        if who.size == 0:
            continue
        whos.append(who)
        sources.append(
            np.array(
                [SOURCE_INDEX[SELF_CERTIFICATION[people[i].profile]] for i in who], dtype=np.int64
            )
        )
        seconds.append(second[who])
        flags.append(np.zeros(who.size, dtype=bool))


def _impersonation(
    lives: list[Life],
    rng: np.random.Generator,
    start: date,
    span: int,
    whos: list[NDArray[np.int64]],
    sources: list[NDArray[np.int64]],
    seconds: list[NDArray[np.int64]],
    flags: list[NDArray[np.bool_]],
) -> None:
    for i, life in enumerate(lives):
        if life.impersonated_until is None or life.death_date is None:
            continue
        first = (life.death_date - start).days * 86400 + 86400
        last = min(span, (life.impersonated_until - start).days * 86400)
        if last <= first:
            continue
        for code, rate in IMPERSONATION_RATES.items():
            count = int(rng.poisson(rate * (last - first) / (365 * 86400)))
            if count:
                whos.append(np.full(count, i, dtype=np.int64))
                sources.append(np.full(count, SOURCE_INDEX[code], dtype=np.int64))
                seconds.append(rng.integers(first, last, size=count))
                flags.append(np.ones(count, dtype=bool))


def _alive_at(
    lives: list[Life],
    start: date,
    who: NDArray[np.int64],
    second: NDArray[np.int64],
    impersonation: NDArray[np.bool_],
) -> NDArray[np.bool_]:
    """Genuine events happen only while the person is alive and free."""
    inf = np.iinfo(np.int64).max
    death = np.array(
        [(lf.death_date - start).days * 86400 + 86400 if lf.death_date else inf for lf in lives],
        dtype=np.int64,
    )
    jail_from = np.array(
        [(lf.prison_start - start).days * 86400 if lf.prison_start else inf for lf in lives],
        dtype=np.int64,
    )
    jail_to = np.array(
        [(lf.prison_end - start).days * 86400 if lf.prison_end else inf for lf in lives],
        dtype=np.int64,
    )
    alive = second < death[who]
    free = (second < jail_from[who]) | (second >= jail_to[who])
    return impersonation | (alive & free)


def _silenced(
    lives: list[Life], who: NDArray[np.int64], source: NDArray[np.int64], imp: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """People who never certify leave no genuine direct evidence."""
    never = np.array([life.never_certifies for life in lives], dtype=bool)
    silenced: NDArray[np.bool_] = never[who] & DIRECT_ALIVE[source] & ~imp
    return silenced


def _death(life: Life) -> date:
    if life.death_date is None:
        raise ValueError("not a death")
    return life.death_date


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
