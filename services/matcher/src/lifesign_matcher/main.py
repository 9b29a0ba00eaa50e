"""Composition root of the matcher service (owner of the certification state)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from lifesign import topics
from lifesign.bus import BatchConsumer, json_decoder
from lifesign.calendar import RegionalAlignment
from lifesign.events import PensionerRecord, ScoringDecision
from lifesign.messaging import Outbox
from lifesign.service import Runtime, ServiceSpec, serve
from lifesign.settings import ServiceSettings
from lifesign_matcher.api import router
from lifesign_matcher.consumers import (
    Certifier,
    DecisionHandler,
    RegistryHandler,
    ValidatedHandler,
    decode_head,
)
from lifesign_matcher.models import SCHEMA, messaging
from lifesign_matcher.review import Reviews
from lifesign_matcher.sweep import Sweeper


class MatcherSettings(ServiceSettings):
    """Settings of the matcher service (env prefix LIFESIGN_)."""

    sweep_interval_s: float = Field(
        default=60.0,
        ge=0,
        description="How often the daily sweep catches up to today; 0 leaves it to the API "
        "(a simulation drives it for simulated dates).",
    )
    validity_alignment: dict[str, str] = Field(
        default_factory=dict,
        description="R-6.2: region prefix -> month-day validity ends align to, e.g. "
        '{"4102": "12-31"}; never more than 12 months between certifications.',
    )


def wire(runtime: Runtime) -> None:
    outbox = Outbox(messaging.outbox)
    alignment = RegionalAlignment.parse(getattr(runtime.settings, "validity_alignment", {}))
    certifier = Certifier(outbox=outbox, clock=runtime.clock, alignment=alignment)
    sweeper = Sweeper(sessions=runtime.sessions, certifier=certifier)
    runtime.parts["sweeper"] = sweeper
    interval = getattr(runtime.settings, "sweep_interval_s", 0.0)
    if interval > 0:

        async def sweep_to_today() -> None:
            await sweeper.run_through(runtime.clock.today())
            await outbox.relay(runtime.sessions, runtime.producer)

        runtime.every(interval, sweep_to_today, name="daily sweep")
    common = {**runtime.consumer_kwargs(), "after_commit": runtime.relay(outbox)}
    events = ValidatedHandler(certifier=certifier, outbox=outbox)
    runtime.parts["reviews"] = Reviews(events=events, certifier=certifier)
    runtime.consumers.append(
        BatchConsumer(
            name="matcher-registry",
            topics=[topics.REGISTRY_PENSIONERS],
            decode=json_decoder(PensionerRecord),
            handler=RegistryHandler(certifier=certifier, events=events),
            **common,
        )
    )
    runtime.consumers.append(
        BatchConsumer(
            name="matcher-validated",
            topics=[topics.EVENTS_VALIDATED],
            decode=decode_head,
            handler=events,
            **common,
        )
    )
    runtime.consumers.append(
        BatchConsumer(
            name="matcher-decisions",
            topics=[topics.DECISIONS],
            decode=json_decoder(ScoringDecision),
            handler=DecisionHandler(certifier=certifier),
            **common,
        )
    )


SPEC = ServiceSpec(
    name="matcher",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    routers=[router],
)


def run() -> None:
    serve(SPEC, MatcherSettings())
