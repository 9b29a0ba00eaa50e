"""The event contracts that travel on the bus (versioned, frozen pydantic models).

* :class:`FeedRecord` is what a department publishes on ``feed.<source>.v1`` (plaintext
  identity: it exists only at the edge, before ingest).
* :class:`LifeEvent` is what ingest publishes after normalisation: the person is known
  only by keyed pseudonyms and masked forms (ARCHITECTURE principle 4, R-5.3.3).
* :class:`PensionerRecord` is one pensioner's base information (R-7.2) as published on the
  compacted registry topic, keyed by pseudonym.

The evidence class of an event comes from the source catalogue (R-7.4), never from the
producer: :attr:`LifeEvent.evidence` looks it up.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from lifesign.catalogue import EvidenceClass, Source, get_source

#: Namespace of every deterministic id lifesign derives (uuid5).
LIFESIGN_NAMESPACE = uuid.UUID("6f1d2a3c-5b7e-4c1a-9e0f-2d6b8a4c1e37")

_REGION_PATTERN = r"^\d{6}$"
_DIGEST_PATTERN = r"^[0-9a-f]{64}$"


_NAMESPACE_BYTES = LIFESIGN_NAMESPACE.bytes
#: The version (5) and RFC 4122 variant bits a uuid5 has, set on the SHA-1's first 16 bytes.
_UUID5_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID5_SET = (5 << 76) | (0x8000 << 48)


def deterministic_id(*parts: str) -> uuid.UUID:
    """A uuid5 over the parts: the same input always gives the same id (idempotent effects).

    ``uuid.uuid5(LIFESIGN_NAMESPACE, "\\x1f".join(parts))`` exactly (a test compares them),
    without its per-call import, namespace conversion and ``UUID(bytes=, version=)``
    checks: 3.2 -> 1.8 µs, once per record in ingest."""
    digest = hashlib.sha1(_NAMESPACE_BYTES + "\x1f".join(parts).encode()).digest()  # noqa: S324
    return uuid.UUID(int=int.from_bytes(digest[:16]) & _UUID5_CLEAR | _UUID5_SET)


def event_id_for(source: str, source_record_id: str) -> uuid.UUID:
    """The event id of a department record: a redelivered record keeps its id (R-7.3.2)."""
    return deterministic_id("event", source, source_record_id)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FeedRecord(_Frozen):
    """A department's record as published on its feed topic (before normalisation)."""

    record_id: str = Field(min_length=1, max_length=128, description="The department's own id.")
    id_type: str = Field(default="01", description="Id document type; 01 = resident id card.")
    id_number: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=64)
    occurred_at: datetime = Field(description="When it happened; naive means Beijing time.")
    region: str | None = Field(default=None, description="GB/T 2260 code of the reporter.")
    attributes: dict[str, Any] = Field(default_factory=dict)
    reported_at: datetime | None = Field(
        default=None, description="When the department published it; naive means Beijing."
    )


class Channel(StrEnum):
    """How a record reached lifesign (R-8.2.2)."""

    KAFKA = "kafka"
    HTTP_UPLOAD = "http_upload"
    INTERFACE_PULL = "interface_pull"


class Provenance(_Frozen):
    """Where an event came from, for lineage (R-5.3.2, R-8.2.3 metadata)."""

    channel: Channel
    source_record_id: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    file: str | None = None
    row: int | None = None
    job_id: str | None = None


class PersonRef(_Frozen):
    """A person as the rest of the platform sees them: pseudonyms and masks only."""

    pseudonym: str = Field(pattern=_DIGEST_PATTERN, description="HMAC of the id number.")
    name_digest: str = Field(pattern=_DIGEST_PATTERN, description="HMAC of the name.")
    id_type: str = "01"
    id_masked: str
    name_masked: str


def _catalogue_source(value: str) -> str:
    """A source code of the catalogue. An unknown one raises UnknownSource, a KeyError,
    which pydantic lets through rather than wrapping: callers catch it beside
    ValidationError (quality's handler; the matcher's decoder dead-letters it)."""
    get_source(value)
    return value


class NameCheck(_Frozen):
    """Set by ingest when the record's id number matches a registry pensioner but its
    normalised name differs (R-7.3.3.2): how alike the two names are, for the reviewer.
    Only ingest sees both plaintext names; this carries the score and reasons only."""

    similarity: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(
        default_factory=list,
        description="lifesign.names.Reason values: same_pinyin, one_character_apart, ...",
    )


class LifeEvent(_Frozen):
    """One normalised piece of evidence about one person (schema version 1)."""

    schema_version: Literal[1] = 1
    event_id: uuid.UUID
    source: str
    person: PersonRef
    occurred_at: AwareDatetime
    received_at: AwareDatetime
    region: str | None = Field(default=None, pattern=_REGION_PATTERN)
    attributes: dict[str, Any] = Field(default_factory=dict)
    provenance: Provenance
    #: Optional and additive: None when the names agree or the person is not registered.
    name_check: NameCheck | None = None

    _source_in_catalogue = field_validator("source")(_catalogue_source)

    @property
    def source_spec(self) -> Source:
        return get_source(self.source)

    @property
    def evidence(self) -> EvidenceClass:
        """The R-7.4 label, from the catalogue."""
        return get_source(self.source).evidence


class PersonKey(BaseModel):
    """The pseudonym of a :class:`PersonRef`, the rest ignored (see :class:`EventHead`)."""

    model_config = ConfigDict(frozen=True)

    pseudonym: str = Field(pattern=_DIGEST_PATTERN)


class EventHead(BaseModel):
    """The routing part of a :class:`LifeEvent`: its version, source and person.

    Enough to label an event (R-7.4) and key what is derived from it. The matcher forwards
    auxiliary events (about 78% of them) to scoring unchanged, so it reads only this part
    of them: a whole :class:`LifeEvent` costs twice as much to validate, and scoring, which
    uses the rest, validates it there (an invalid event is dead-lettered by scoring with
    the reason). The other fields are ignored here, not refused.
    """

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1]
    source: str
    person: PersonKey

    _source_in_catalogue = field_validator("source")(_catalogue_source)

    @property
    def evidence(self) -> EvidenceClass:
        """The R-7.4 label, from the catalogue."""
        return get_source(self.source).evidence


class InsuranceType(StrEnum):
    """Who is certified (standard 3.3)."""

    ENTERPRISE = "enterprise"  # 企业职工基本养老保险
    PUBLIC_INSTITUTION = "public_institution"  # 机关事业单位养老保险
    URBAN_RURAL_RESIDENT = "urban_rural_resident"  # 城乡居民基本养老保险
    SURVIVOR = "survivor"  # 遗属待遇


class BenefitStatus(StrEnum):
    """The benefit status held in the business system (R-7.2)."""

    NORMAL = "normal"  # 正常发放
    SUSPENDED = "suspended"  # 暂停发放
    TERMINATED = "terminated"  # 终止发放


class PensionerRecord(_Frozen):
    """Base information of one pensioner (R-7.2), pseudonymised for the bus."""

    schema_version: Literal[1] = 1
    pseudonym: str = Field(pattern=_DIGEST_PATTERN)
    name_digest: str = Field(pattern=_DIGEST_PATTERN)
    person_id: str = Field(description="The agency's own person number (个人编号).")
    id_type: str = "01"
    id_masked: str
    name_masked: str
    sex: Literal["M", "F"]
    birth_date: date
    insurance_type: InsuranceType
    benefit_status: BenefitStatus
    retirement_date: date | None = None
    benefit_start: date = Field(description="First month of benefit payment (R-6.1).")
    registration_region: str = Field(pattern=_REGION_PATTERN, description="Household region.")
    residence_region: str | None = Field(default=None, pattern=_REGION_PATTERN)
    benefit_region: str = Field(pattern=_REGION_PATTERN, description="Region that pays.")
    monthly_benefit: str | None = Field(default=None, description="Decimal yuan, as text.")
    last_certified_on: date | None = Field(
        default=None, description="Latest certification recorded before lifesign (R-6.1)."
    )
    updated_at: AwareDatetime


class AuxiliaryEvent(_Frozen):
    """Published on ``events.auxiliary.v1`` for scoring (R-7.5.1 c, R-7.4.3): an event
    that is auxiliary evidence, or direct evidence that matched no pensioner."""

    schema_version: Literal[1] = 1
    event: LifeEvent
    outcome: str


class FeatureContribution(_Frozen):
    """One feature's share of a model decision (xgboost ``pred_contribs``), for display."""

    feature: str
    value: float | None = Field(description="The feature's value for this person.")
    contribution: float = Field(description="Its contribution to the log-odds of alive.")


class ScoringDecision(_Frozen):
    """Published by scoring on ``decisions.v1`` (R-7.5.2.3), keyed by pseudonym.

    ``confirmed``: the model judged the person alive at ``as_of``; the matcher folds it as a
    proof of life at ``proof_at`` with method ``big_data_aux``. Not confirmed: the matcher
    moves a person in the warning period to pending verification early, so a reminder or a
    visit starts; scoring never suspends anyone. ``decision_id`` is deterministic over
    (pseudonym, as_of, model_version), so a re-run publishes the same decision.
    """

    schema_version: Literal[1] = 1
    decision_id: uuid.UUID
    pseudonym: str = Field(pattern=_DIGEST_PATTERN)
    as_of: date = Field(description="The end of the window the model judged (Beijing date).")
    proof_at: AwareDatetime = Field(
        description="The proof-of-life time if confirmed: the latest auxiliary event used."
    )
    decided_at: AwareDatetime
    confirmed: bool
    alive_probability: float = Field(ge=0.0, le=1.0, description="Calibrated.")
    threshold: float = Field(ge=0.0, le=1.0)
    model_version: str = Field(min_length=1, description="A rule model's id for rule models.")
    contributions: list[FeatureContribution] = Field(default_factory=list)
    evidence: list[uuid.UUID] = Field(
        default_factory=list, description="The auxiliary events behind the decision."
    )
