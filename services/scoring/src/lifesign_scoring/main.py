"""Composition root of the scoring service."""

from __future__ import annotations

from pathlib import Path

from lifesign import topics
from lifesign.bus import BatchConsumer, json_decoder
from lifesign.events import AuxiliaryEvent
from lifesign.messaging import Inbox
from lifesign.service import Runtime, ServiceSpec, serve
from lifesign.settings import ServiceSettings
from lifesign_scoring.api import router
from lifesign_scoring.consumers import AuxiliaryHandler
from lifesign_scoring.models import SCHEMA, messaging

CONSUMER = "scoring-auxiliary"


class ScoringSettings(ServiceSettings):
    """Settings of the scoring service (env prefix LIFESIGN_)."""


def wire(runtime: Runtime) -> None:
    runtime.consumers.append(
        BatchConsumer(
            name=CONSUMER,
            topics=[topics.EVENTS_AUXILIARY],
            decode=json_decoder(AuxiliaryEvent),
            handler=AuxiliaryHandler(inbox=Inbox(messaging.inbox, CONSUMER)),
            **runtime.consumer_kwargs(),
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
