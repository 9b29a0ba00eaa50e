"""Composition root of the ingest service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from lifesign.bus import BatchConsumer
from lifesign.messaging import Outbox
from lifesign.service import Runtime, ServiceSpec, serve
from lifesign.settings import ServiceSettings
from lifesign.topics import FEED_TOPIC_PATTERN, feed_topics
from lifesign_ingest.api import router
from lifesign_ingest.consumers import FeedHandler
from lifesign_ingest.intake import Intake
from lifesign_ingest.models import SCHEMA, messaging
from lifesign_ingest.pull import PullRunner
from lifesign_ingest.service import warm_up

NAME = "ingest"


class IngestSettings(ServiceSettings):
    """Settings of the ingest service (env prefix LIFESIGN_)."""

    pull_tick_seconds: float = Field(
        default=5.0, gt=0, description="How often the scheduler looks for due pull jobs."
    )
    pull_retry_seconds: float = Field(
        default=30.0, gt=0, description="First wait after a failed pull; doubles per failure."
    )


def _raw(value: bytes) -> bytes:
    return value


def wire(runtime: Runtime) -> None:
    warm_up()
    intake = Intake(pseudonymizer=runtime.settings.pseudonymizer, cipher=runtime.settings.cipher)
    runtime.parts["intake"] = intake
    handler = FeedHandler(intake=intake, clock=runtime.clock)
    runtime.consumers.append(
        BatchConsumer(
            name="ingest-feeds",
            topics=feed_topics(),
            # Every feed topic, also one a department creates for a source lifesign does
            # not know: its records are dead-lettered and counted, not left unread.
            pattern=FEED_TOPIC_PATTERN,
            decode=_raw,
            handler=handler,
            **runtime.consumer_kwargs(),
        )
    )
    # Registry imports and pull jobs write to the outbox and relay it; this catches what a
    # crash left.
    outbox = Outbox(messaging.outbox)
    runtime.relay(outbox)
    # Tests may wire the service with the common settings: the defaults apply then.
    settings = runtime.settings
    if not isinstance(settings, IngestSettings):
        settings = IngestSettings.model_validate(settings.model_dump())
    runner = PullRunner(
        intake=intake,
        sessions=runtime.sessions,
        producer=runtime.producer,
        clock=runtime.clock,
        outbox=outbox,
        retry_base_seconds=settings.pull_retry_seconds,
    )
    runtime.parts["pull"] = runner
    runtime.every(settings.pull_tick_seconds, runner.run_due, name="pull jobs")


SPEC = ServiceSpec(
    name=NAME,
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    routers=[router],
)


def run() -> None:
    serve(SPEC, IngestSettings())
