"""Composition root of the ingest service."""

from __future__ import annotations

from pathlib import Path

from lifesign.bus import BatchConsumer
from lifesign.messaging import Outbox
from lifesign.service import Runtime, ServiceSpec, serve
from lifesign.settings import ServiceSettings
from lifesign.topics import feed_topics
from lifesign_ingest.api import router
from lifesign_ingest.consumers import FeedHandler
from lifesign_ingest.intake import Intake
from lifesign_ingest.models import SCHEMA, messaging

NAME = "ingest"


class IngestSettings(ServiceSettings):
    """Settings of the ingest service (env prefix LIFESIGN_)."""


def _raw(value: bytes) -> bytes:
    return value


def wire(runtime: Runtime) -> None:
    intake = Intake(pseudonymizer=runtime.settings.pseudonymizer, cipher=runtime.settings.cipher)
    runtime.parts["intake"] = intake
    handler = FeedHandler(intake=intake, clock=runtime.clock)
    runtime.consumers.append(
        BatchConsumer(
            name="ingest-feeds",
            topics=feed_topics(),
            decode=_raw,
            handler=handler,
            **runtime.consumer_kwargs(),
        )
    )
    # Registry imports write to the outbox and relay it; this catches what a crash left.
    runtime.relay(Outbox(messaging.outbox))


SPEC = ServiceSpec(
    name=NAME,
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    routers=[router],
)


def run() -> None:
    serve(SPEC, IngestSettings())
