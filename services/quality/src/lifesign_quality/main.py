"""Composition root of the quality service."""

from __future__ import annotations

from pathlib import Path

from lifesign import topics
from lifesign.bus import BatchConsumer, json_decoder
from lifesign.events import LifeEvent
from lifesign.service import Runtime, ServiceSpec, serve
from lifesign.settings import ServiceSettings
from lifesign_quality.api import router
from lifesign_quality.consumers import NormalizedHandler
from lifesign_quality.models import SCHEMA


class QualitySettings(ServiceSettings):
    """Settings of the quality service (env prefix LIFESIGN_)."""


def wire(runtime: Runtime) -> None:
    runtime.consumers.append(
        BatchConsumer(
            name="quality-normalized",
            topics=[topics.EVENTS_NORMALIZED],
            decode=json_decoder(LifeEvent),
            handler=NormalizedHandler(clock=runtime.clock),
            **runtime.consumer_kwargs(),
        )
    )


SPEC = ServiceSpec(
    name="quality",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    routers=[router],
)


def run() -> None:
    serve(SPEC, QualitySettings())
