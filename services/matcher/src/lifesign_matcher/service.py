"""The matcher's rules, pure: R-7.4 labels and R-7.5.1 direct matching.

R-7.5.1: direct evidence is matched on the id pseudonym and the name digest against the
registry: a) matched and alive -> proof of life; b) matched and dead or imprisoned -> loss
evidence; c) not matched -> auxiliary analysis; d) conflicting states are derived by the
certification fold (:func:`lifesign.certification.status_on`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from lifesign.calendar import AnnualAlignment
from lifesign.catalogue import EvidenceClass, LossKind
from lifesign.certification import (
    CertificationState,
    Evidence,
    EvidenceKind,
    StateChange,
    Status,
    local_date,
    status_on,
)
from lifesign.events import LifeEvent, deterministic_id


class Outcome(StrEnum):
    """Which branch an event took."""

    PROOF_OF_LIFE = "a_proof_of_life"  # a
    LOSS = "b_loss"  # b
    UNMATCHED = "c_unmatched"  # c: not in the registry, or the name differs
    NAME_REVIEW = "review_name_mismatch"  # R-7.3.3.2: loss evidence, id matches, name not
    AUXILIARY = "auxiliary"  # auxiliary evidence goes to scoring
    NOT_LOSS = "not_loss"  # e.g. household cancelled for a reason other than death


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """What matching needs of a pensioner's base information."""

    pseudonym: str
    name_digest: str


LOSS_DATE_FIELD = {LossKind.DEATH: "death_date", LossKind.PRISON: "sentence_start"}

#: household_cancellation reasons that mean death (settling abroad keeps the pension).
DEATH_CANCELLATION_REASONS = frozenset({"death", "declared_dead"})


def classify(event: LifeEvent, entry: RegistryEntry | None) -> Outcome:
    """The R-7.4 label and the R-7.5.1 branch of one validated event."""
    evidence = event.evidence
    if evidence is EvidenceClass.AUXILIARY_ALIVE:
        return Outcome.AUXILIARY
    if evidence is EvidenceClass.DIRECT_LOST and not _is_loss(event):
        return Outcome.NOT_LOSS  # e.g. household cancelled on settling abroad
    if entry is None:
        return Outcome.UNMATCHED
    if entry.name_digest != event.person.name_digest:
        # The id matches and the name does not: loss evidence needs a person to check it
        # (R-7.3.3.2); alive evidence is analysed like any unmatched record (R-7.5.1 c).
        return Outcome.NAME_REVIEW if evidence is EvidenceClass.DIRECT_LOST else Outcome.UNMATCHED
    if evidence is EvidenceClass.DIRECT_ALIVE:
        return Outcome.PROOF_OF_LIFE
    return Outcome.LOSS


def _is_loss(event: LifeEvent) -> bool:
    if event.source == "household_cancellation":
        return event.attributes.get("cancellation_reason") in DEATH_CANCELLATION_REASONS
    return True


def evidence_of(event: LifeEvent) -> Evidence:
    """The fold's input for an event of branch a) or b)."""
    source = event.source_spec
    if source.evidence is EvidenceClass.DIRECT_ALIVE:
        return Evidence(
            kind=EvidenceKind.ALIVE,
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            source=source.code,
            method=source.method,
        )
    loss_kind = source.loss_kind or LossKind.DEATH
    # The record's own date of death or sentence start, when given, dates the loss better
    # than the time the record was made (a cremation happens days after the death).
    own_date = _date_attribute(event, LOSS_DATE_FIELD[loss_kind])
    occurred_at = (
        datetime.combine(own_date, time(12), tzinfo=event.occurred_at.tzinfo)
        if own_date is not None
        else event.occurred_at
    )
    return Evidence(
        kind=EvidenceKind.DEATH if loss_kind is LossKind.DEATH else EvidenceKind.PRISON,
        event_id=event.event_id,
        occurred_at=occurred_at,
        source=source.code,
        loss_kind=loss_kind,
        released_on=_date_attribute(event, "released_on"),
    )


def _date_attribute(event: LifeEvent, name: str) -> date | None:
    value = event.attributes.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None  # quality quarantines malformed dates; never guess one here


@dataclass(frozen=True, slots=True)
class Published:
    """The status a pensioner was last published with (what the world was told)."""

    status: str | None
    rule: str | None
    conflict: str | None
    hold_payment: bool
    validity_start: date | None
    validity_end: date | None
    version: int
    benefit_region: str | None
    residence_region: str | None
    changed_at: datetime | None = None  # when the last change was dated


def next_change(
    state: CertificationState,
    published: Published,
    *,
    as_of: date,
    now: datetime,
    alignment: AnnualAlignment | None = None,
) -> StateChange | None:
    """The state change to publish, if the status on ``as_of`` differs from the last one.

    A change is due when the status, its conflict, the payment hold or the validity window
    moves (a proof of life defers validity, R-7.10, even while the status stays eligible).
    Its id derives from the person and the per-person version, so a replay that reaches
    the same change gives the same id and downstream consumers drop the copy.
    """
    # A person's clock never runs backwards: evidence processed out of order (feeds of
    # different departments interleave) is judged no earlier than the last change was.
    if published.changed_at is not None:
        as_of = max(as_of, local_date(published.changed_at))
        now = max(now, published.changed_at)
    view = status_on(state, as_of, alignment)
    start = view.window.start if view.window else None
    end = view.window.end if view.window else None
    unchanged = (
        published.status == view.status.value
        and published.conflict == view.conflict
        and published.hold_payment == view.hold_payment
        and published.validity_start == start
        and published.validity_end == end
    )
    if unchanged:
        return None
    version = published.version + 1
    alive = state.last_alive
    return StateChange(
        change_id=deterministic_id("state-change", state.pseudonym, str(version)),
        version=version,
        pseudonym=state.pseudonym,
        from_status=Status(published.status) if published.status else None,
        to_status=view.status,
        rule=view.rule,
        conflict=view.conflict,
        hold_payment=view.hold_payment,
        validity_start=start,
        validity_end=end,
        last_proof_of_life_at=alive.at if alive else None,
        last_proof_method=alive.method if alive else None,
        evidence=list(view.evidence),
        as_of=as_of,
        changed_at=now,
        benefit_region=published.benefit_region,
        residence_region=published.residence_region,
    )
