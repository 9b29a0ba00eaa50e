"""Composition root of the lists service."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from lifesign import topics
from lifesign.bus import BatchConsumer, json_decoder
from lifesign.certification import StateChange
from lifesign.events import PensionerRecord
from lifesign.service import Runtime, ServiceSpec, serve
from lifesign.settings import ServiceSettings
from lifesign_lists.api import router
from lifesign_lists.consumers import on_registry_pensioner, on_state_change
from lifesign_lists.models import SCHEMA
from lifesign_lists.push import IngestContacts


class ListsSettings(ServiceSettings):
    """Settings of the lists service (env prefix LIFESIGN_)."""

    ingest_url: str | None = Field(
        default=None,
        description="Where ingest answers: the R-7.6.1 push asks it for personal fields.",
    )


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
    runtime.consumers.append(
        BatchConsumer(
            name="lists-registry",
            topics=[topics.REGISTRY_PENSIONERS],
            decode=json_decoder(PensionerRecord),
            handler=on_registry_pensioner,
            **runtime.consumer_kwargs(),
        )
    )
    url = getattr(runtime.settings, "ingest_url", None)
    runtime.parts["contacts"] = IngestContacts(url) if url else None


SPEC = ServiceSpec(
    name="lists",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    routers=[router],
)


def run() -> None:
    serve(SPEC, ListsSettings())
