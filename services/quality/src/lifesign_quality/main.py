"""Composition root of the quality service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from lifesign import topics
from lifesign.bus import BatchConsumer, json_decoder
from lifesign.events import PensionerRecord
from lifesign.service import Runtime, ServiceSpec, serve
from lifesign.settings import ServiceSettings
from lifesign_quality import checks
from lifesign_quality.api import router
from lifesign_quality.consumers import NormalizedHandler, RegistryHandler, raw_bytes
from lifesign_quality.models import SCHEMA


class QualitySettings(ServiceSettings):
    """Settings of the quality service (env prefix LIFESIGN_)."""

    volume_check_interval_s: float = Field(
        default=3600.0,
        ge=0,
        description="How often the scheduled checks (silent or flooding sources, late "
        "deliveries) judge the last days; 0 leaves them to POST /checks.",
    )


#: Days the periodic check looks back over (a late day's counts still move).
CHECK_DAYS = 3


def wire(runtime: Runtime) -> None:
    runtime.consumers.append(
        BatchConsumer(
            name="quality-normalized",
            topics=[topics.EVENTS_NORMALIZED],
            decode=raw_bytes,
            handler=NormalizedHandler(clock=runtime.clock),
            **runtime.consumer_kwargs(),
        )
    )
    # Referential integrity needs the registry: quality keeps its own copy.
    runtime.consumers.append(
        BatchConsumer(
            name="quality-registry",
            topics=[topics.REGISTRY_PENSIONERS],
            decode=json_decoder(PensionerRecord),
            handler=RegistryHandler(),
            **runtime.consumer_kwargs(),
        )
    )
    interval = getattr(runtime.settings, "volume_check_interval_s", 0.0)
    if interval > 0:

        async def check_recent_days() -> None:
            today = runtime.clock.today()
            await checks.run_checks(runtime.sessions, today - timedelta(days=CHECK_DAYS), today)

        runtime.every(interval, check_recent_days, name="volume check")


SPEC = ServiceSpec(
    name="quality",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    routers=[router],
)


def run() -> None:
    serve(SPEC, QualitySettings())
