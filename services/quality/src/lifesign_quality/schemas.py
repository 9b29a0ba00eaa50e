"""Quality's message and API models."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from lifesign.events import LifeEvent


class RuleFailure(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule_id: str
    dimension: str
    severity: str
    message: str


class QuarantinedEvent(BaseModel):
    """Published on ``events.quarantined.v1``: the event and every rule it failed."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = 1
    event: LifeEvent
    failures: list[RuleFailure]
    checked_at: AwareDatetime
