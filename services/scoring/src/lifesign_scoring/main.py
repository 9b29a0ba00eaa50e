"""Composition root of the scoring service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from lifesign import topics
from lifesign.bus import BatchConsumer, json_decoder
from lifesign.certification import StateChange
from lifesign.events import AuxiliaryEvent, PensionerRecord
from lifesign.messaging import Inbox, Outbox
from lifesign.service import Runtime, ServiceSpec, serve
from lifesign.settings import ServiceSettings
from lifesign_scoring.api import router
from lifesign_scoring.consumers import AuxiliaryHandler, on_registry_pensioners, on_state_changes
from lifesign_scoring.decide import Decider
from lifesign_scoring.models import SCHEMA, messaging

CONSUMER = "scoring-auxiliary"


class ScoringSettings(ServiceSettings):
    """Settings of the scoring service (env prefix LIFESIGN_)."""

    scoring_enabled: bool = Field(
        default=True,
        description="false: keep the features current but publish no decisions (the "
        "evaluation's run without big-data auxiliary certification).",
    )
    unconfirmed_grace_days: int = Field(
        default=30,
        ge=0,
        le=92,
        description="R-7.5.2.3: a person the model cannot confirm is moved to pending only "
        "in the last this many days of the warning period (92: from its first day).",
    )
    decide_interval_s: float = Field(
        default=3600.0,
        ge=0,
        description="How often the daily decisions catch up to today; 0 leaves it to the "
        "API (a simulation drives it for simulated dates).",
    )


def wire(runtime: Runtime) -> None:
    outbox = Outbox(messaging.outbox)
    settings = runtime.settings
    decider = Decider(
        sessions=runtime.sessions,
        outbox=outbox,
        clock=runtime.clock,
        enabled=getattr(settings, "scoring_enabled", True),
        grace_days=getattr(settings, "unconfirmed_grace_days", 30),
    )
    runtime.parts["decider"] = decider
    interval = getattr(settings, "decide_interval_s", 0.0)
    if interval > 0:

        async def decide_today() -> None:
            await decider.run_through(runtime.clock.today())
            await outbox.relay(runtime.sessions, runtime.producer)

        runtime.every(interval, decide_today, name="daily decisions")
    runtime.relay(outbox)
    common = runtime.consumer_kwargs()
    runtime.consumers.append(
        BatchConsumer(
            name=CONSUMER,
            topics=[topics.EVENTS_AUXILIARY],
            decode=json_decoder(AuxiliaryEvent),
            handler=AuxiliaryHandler(inbox=Inbox(messaging.inbox, CONSUMER)),
            **common,
        )
    )
    runtime.consumers.append(
        BatchConsumer(
            name="scoring-registry",
            topics=[topics.REGISTRY_PENSIONERS],
            decode=json_decoder(PensionerRecord),
            handler=on_registry_pensioners,
            **common,
        )
    )
    runtime.consumers.append(
        BatchConsumer(
            name="scoring-state",
            topics=[topics.STATE_CHANGES],
            decode=json_decoder(StateChange),
            handler=on_state_changes,
            **common,
        )
    )


SPEC = ServiceSpec(
    name="scoring",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    routers=[router],
)


def run() -> None:
    serve(SPEC, ScoringSettings())
