"""The certification state: a commutative, idempotent fold of evidence (R-6, R-7.5.1).

ARCHITECTURE principle 1: a pensioner's state is derived from facts that only grow: the
latest proof of life (a max), death and prison evidence (sets), retractions of wrong
records (a set) and base information from the registry. :func:`fold` merges one piece of
evidence; applying the same evidence twice, or any two in either order, gives the same
state. The status on a date is the pure function :func:`status_on` (R-6.1..R-6.4).

Conflicts (R-7.5.1 d) are not stored: they are derived from the state on each evaluation,
so they commute too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from lifesign.calendar import AnnualAlignment, Period, ValidityWindow, validity_window
from lifesign.catalogue import CertificationMethod, LossKind
from lifesign.clock import _SHANGHAI


class Status(StrEnum):
    """Where a pensioner stands on a date (R-6, R-7.5.3)."""

    ELIGIBLE = "eligible"  # 具备资格
    WARNING = "warning"  # eligible, in the 3 months before validity end
    PENDING = "pending"  # 待核实: 3 months after validity end, or a conflict
    LOST = "lost"  # 丧失资格: death or prison evidence (R-7.5.1 b)
    SUSPENDED = "suspended"  # pending period over with no certification


class EvidenceKind(StrEnum):
    ALIVE = "alive"  # a proof of life (R-7.5.1 a, R-7.10)
    DEATH = "death"  # funeral, medical death certificate, household cancellation
    PRISON = "prison"  # a prison term; release is an attribute of the same record
    RETRACTION = "retraction"  # a reviewer withdrew a wrong death/prison record
    UNCONFIRMED = "unconfirmed"  # auxiliary analysis could not confirm life (R-7.5.2.3)


@dataclass(frozen=True, slots=True, order=True)
class ProofOfLife:
    """A proof of life; ordered by time then event id so the max is deterministic."""

    at: datetime
    event_id: uuid.UUID
    method: CertificationMethod
    source: str


@dataclass(frozen=True, slots=True)
class LossRecord:
    """Death or prison evidence (R-7.4.2, the lost-eligibility data)."""

    event_id: uuid.UUID
    kind: LossKind
    occurred_on: date
    source: str
    released_on: date | None = None  # prison only


@dataclass(frozen=True, slots=True)
class CertificationState:
    """Everything known about one pensioner's entitlement; see the module docstring."""

    pseudonym: str
    benefit_start: date | None = None
    base_certified_on: date | None = None  # the business system's last certification
    last_alive: ProofOfLife | None = None
    losses: frozenset[LossRecord] = field(default_factory=frozenset)
    retracted: frozenset[uuid.UUID] = field(default_factory=frozenset)
    # The latest day auxiliary analysis judged and could not confirm life (a max).
    unconfirmed_on: date | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """One input to the fold."""

    kind: EvidenceKind
    event_id: uuid.UUID
    occurred_at: datetime
    source: str
    method: CertificationMethod | None = None
    loss_kind: LossKind | None = None
    released_on: date | None = None
    retracts: uuid.UUID | None = None


def fold(state: CertificationState, evidence: Evidence) -> CertificationState:
    """Merge one piece of evidence; commutative and idempotent."""
    if evidence.kind is EvidenceKind.ALIVE:
        proof = as_proof(evidence)
        if state.last_alive is None or proof > state.last_alive:
            return _with_alive(state, proof)
        return state
    if evidence.kind is EvidenceKind.UNCONFIRMED:
        day = local_date(evidence.occurred_at)
        if state.unconfirmed_on is None or day > state.unconfirmed_on:
            return replace(state, unconfirmed_on=day)
        return state
    if evidence.kind is EvidenceKind.RETRACTION:
        if evidence.retracts is None:
            raise ValueError("a retraction names the record it withdraws")
        return replace(state, retracted=state.retracted | {evidence.retracts})
    return replace(state, losses=state.losses | {as_loss(evidence)})


def _with_alive(state: CertificationState, proof: ProofOfLife) -> CertificationState:
    """``replace(state, last_alive=proof)`` for the fold's commonest step, built directly:
    ``dataclasses.replace`` inspects the fields on every call (1.9 µs against 1.2)."""
    return CertificationState(
        pseudonym=state.pseudonym,
        benefit_start=state.benefit_start,
        base_certified_on=state.base_certified_on,
        last_alive=proof,
        losses=state.losses,
        retracted=state.retracted,
        unconfirmed_on=state.unconfirmed_on,
    )


def as_proof(evidence: Evidence) -> ProofOfLife:
    """The proof of life an ALIVE evidence stands for."""
    method = evidence.method or CertificationMethod.BIG_DATA
    return ProofOfLife(evidence.occurred_at, evidence.event_id, method, evidence.source)


def as_loss(evidence: Evidence) -> LossRecord:
    """The loss record a DEATH or PRISON evidence stands for."""
    kind = evidence.loss_kind or (
        LossKind.PRISON if evidence.kind is EvidenceKind.PRISON else LossKind.DEATH
    )
    return LossRecord(
        evidence.event_id,
        kind,
        local_date(evidence.occurred_at),
        evidence.source,
        evidence.released_on,
    )


def with_base(
    state: CertificationState, benefit_start: date, certified_on: date | None
) -> CertificationState:
    """Base information from the registry (R-6.1, R-7.2); the latest import wins."""
    return replace(state, benefit_start=benefit_start, base_certified_on=certified_on)


def local_date(moment: datetime) -> date:
    """The Beijing calendar date of a moment: validity is counted in Beijing dates."""
    return moment.astimezone(_SHANGHAI).date()


#: Two death records further apart than this describe two different deaths: a conflict.
DEATH_RECORDS_TOLERANCE = timedelta(days=31)
#: Alive evidence dated this long after a death record contradicts it (clock skew allowed).
ALIVE_AFTER_DEATH_TOLERANCE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class StatusView:
    """The status on a date and why (R-6, R-7.5.1); what lists and payments act on."""

    status: Status
    rule: str
    window: ValidityWindow | None
    conflict: str | None = None
    hold_payment: bool = False
    evidence: tuple[uuid.UUID, ...] = ()


def status_on(
    state: CertificationState, as_of: date, alignment: AnnualAlignment | None = None
) -> StatusView:
    """The status of a pensioner on ``as_of``: a pure function of the state and the date.

    Order of the rules: death (R-7.5.1 b, or d when contradicted), prison, then the
    validity calendar (R-6.1..R-6.4). ``hold_payment`` says payments must be suspended
    (R-7.9): lost eligibility, suspension, and a death record contradicted by later alive
    evidence (a likely impersonation, 冒领, to be verified before any money moves).
    """
    if state.losses:  # most people have none: skip the scans
        # A death dated after as_of does not count on as_of (lists for a past date).
        deaths = [d for d in _active(state, LossKind.DEATH) if d.occurred_on <= as_of]
        if deaths:
            return _death_status(state, deaths)
        prison = _prison_on(state, as_of)
        if prison is not None:
            return _prison_status(state, prison)
    return _calendar_status(state, as_of, alignment)


def _active(state: CertificationState, kind: LossKind) -> list[LossRecord]:
    return sorted(
        (r for r in state.losses if r.kind is kind and r.event_id not in state.retracted),
        key=lambda r: (r.occurred_on, r.event_id),
    )


def _death_status(state: CertificationState, deaths: list[LossRecord]) -> StatusView:
    ids = tuple(r.event_id for r in deaths)
    first, last = deaths[0], deaths[-1]
    if last.occurred_on - first.occurred_on > DEATH_RECORDS_TOLERANCE:
        conflict = f"death records {first.occurred_on} and {last.occurred_on} disagree"
        return StatusView(Status.PENDING, "R-7.5.1d", None, conflict, True, ids)
    alive = state.last_alive
    if alive is not None and local_date(alive.at) > first.occurred_on + ALIVE_AFTER_DEATH_TOLERANCE:
        conflict = f"proof of life ({alive.source}) on {local_date(alive.at)} after death"
        return StatusView(Status.PENDING, "R-7.5.1d", None, conflict, True, (*ids, alive.event_id))
    return StatusView(Status.LOST, "R-7.5.1b", None, None, True, ids)


def _prison_on(state: CertificationState, as_of: date) -> LossRecord | None:
    """The prison term in force on ``as_of``, if any.

    A release arrives as another record of the same sentence (same start) with
    ``released_on`` set, so a term ends at the latest release any of its records carries.
    """
    releases: dict[date, date] = {}
    for record in _active(state, LossKind.PRISON):
        if record.released_on is not None:
            known = releases.get(record.occurred_on)
            releases[record.occurred_on] = max(record.released_on, known or record.released_on)
    for record in _active(state, LossKind.PRISON):
        released = releases.get(record.occurred_on)
        if record.occurred_on <= as_of and (released is None or as_of < released):
            return record
    return None


#: Proofs of life a relative or an inmate's card could produce without the person present.
_REMOTE_METHODS = frozenset({CertificationMethod.BIG_DATA, CertificationMethod.BIG_DATA_AUX})


def _prison_status(state: CertificationState, prison: LossRecord) -> StatusView:
    alive = state.last_alive
    # A biometric or in-person certification during a prison term contradicts it.
    if (
        alive is not None
        and alive.method not in _REMOTE_METHODS
        and local_date(alive.at) > prison.occurred_on
    ):
        conflict = f"{alive.method} certification on {local_date(alive.at)} during prison term"
        return StatusView(Status.PENDING, "R-7.5.1d", None, conflict, True, (prison.event_id,))
    return StatusView(Status.LOST, "R-7.5.1b-prison", None, None, True, (prison.event_id,))


def validity_start(state: CertificationState) -> date | None:
    """R-6.1: the benefit start for a new pensioner, else the latest certification."""
    known = (state.benefit_start, state.base_certified_on, _alive_date(state))
    candidates = [d for d in known if d is not None]
    return max(candidates) if candidates else None


def _alive_date(state: CertificationState) -> date | None:
    return local_date(state.last_alive.at) if state.last_alive else None


_PERIOD_STATUS = {
    Period.NOT_STARTED: Status.ELIGIBLE,
    Period.VALID: Status.ELIGIBLE,
    Period.WARNING: Status.WARNING,
    Period.PENDING: Status.PENDING,
    Period.EXPIRED: Status.SUSPENDED,
}
_PERIOD_RULE = {
    Period.NOT_STARTED: "R-6.1",
    Period.VALID: "R-6.2",
    Period.WARNING: "R-6.3",
    Period.PENDING: "R-6.4",
    Period.EXPIRED: "R-7.9",
}


def _calendar_status(
    state: CertificationState, as_of: date, alignment: AnnualAlignment | None
) -> StatusView:
    start = validity_start(state)
    if start is None:
        return StatusView(Status.PENDING, "R-7.5.1c-no-evidence", None, "no certification known")
    window = validity_window(start, alignment)
    period = window.period_on(as_of)
    evidence = (state.last_alive.event_id,) if state.last_alive else ()
    if period is Period.WARNING and _unconfirmed_in_warning(state, window, as_of):
        # R-7.5.2.3: not confirmed by auxiliary analysis in the warning period -> pending
        # now, so that a reminder or a visit starts before validity runs out.
        return StatusView(Status.PENDING, "R-7.5.2.3", window, None, False, evidence)
    status = _PERIOD_STATUS[period]
    return StatusView(
        status,
        _PERIOD_RULE[period],
        window,
        None,
        status is Status.SUSPENDED,
        evidence,
    )


def _unconfirmed_in_warning(state: CertificationState, window: ValidityWindow, as_of: date) -> bool:
    day = state.unconfirmed_on
    return day is not None and window.warning_start <= day <= as_of


class StateChange(BaseModel):
    """Published on ``state.changes.v1`` whenever a pensioner's status or validity moves."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    change_id: uuid.UUID
    version: int = Field(ge=1, description="Per-person sequence number of changes.")
    pseudonym: str
    from_status: Status | None
    to_status: Status
    rule: str
    conflict: str | None = None
    hold_payment: bool
    validity_start: date | None = None
    validity_end: date | None = None
    last_proof_of_life_at: AwareDatetime | None = None
    last_proof_method: CertificationMethod | None = None
    evidence: list[uuid.UUID] = Field(default_factory=list)
    as_of: date
    changed_at: AwareDatetime
    benefit_region: str | None = None
    residence_region: str | None = None


class PaymentCommandKind(StrEnum):
    SUSPEND = "suspend"
    RESTORE = "restore"  # with arrears


class PaymentCommand(BaseModel):
    """Published on ``payments.commands.v1`` for the payment system."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    command_id: uuid.UUID
    kind: PaymentCommandKind
    pseudonym: str
    effective_date: date
    arrears_from: date | None = None
    reason: str
    cause_change_id: uuid.UUID
    issued_at: AwareDatetime
