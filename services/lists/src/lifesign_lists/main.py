"""Composition root of the lists service."""

from __future__ import annotations

from pathlib import Path

from lifesign import topics
from lifesign.bus import BatchConsumer, json_decoder
from lifesign.certification import StateChange
from lifesign.service import Runtime, ServiceSpec, serve
from lifesign.settings import ServiceSettings
from lifesign_lists.api import router
from lifesign_lists.consumers import on_state_change
from lifesign_lists.models import SCHEMA


class ListsSettings(ServiceSettings):
    """Settings of the lists service (env prefix LIFESIGN_)."""


def wire(runtime: Runtime) -> None:
    runtime.consumers.append(
        BatchConsumer(
            name="lists-state",
            topics=[topics.STATE_CHANGES],
            decode=json_decoder(StateChange),
            handler=on_state_change,
            **runtime.consumer_kwargs(),
        )
    )


SPEC = ServiceSpec(
    name="lists",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    routers=[router],
)


def run() -> None:
    serve(SPEC, ListsSettings())
