"""Composition root of the payments bridge."""

from __future__ import annotations

from pathlib import Path

from lifesign import topics
from lifesign.bus import BatchConsumer, json_decoder
from lifesign.certification import StateChange
from lifesign.messaging import Inbox, Outbox
from lifesign.service import Runtime, ServiceSpec, serve
from lifesign.settings import ServiceSettings
from lifesign_payments_bridge.api import router
from lifesign_payments_bridge.consumers import StateChangeHandler
from lifesign_payments_bridge.models import SCHEMA, messaging

CONSUMER = "payments-bridge-state"


class PaymentsBridgeSettings(ServiceSettings):
    """Settings of the payments bridge (env prefix LIFESIGN_)."""


def wire(runtime: Runtime) -> None:
    outbox = Outbox(messaging.outbox)
    runtime.consumers.append(
        BatchConsumer(
            name=CONSUMER,
            topics=[topics.STATE_CHANGES],
            decode=json_decoder(StateChange),
            handler=StateChangeHandler(
                inbox=Inbox(messaging.inbox, CONSUMER), outbox=outbox, clock=runtime.clock
            ),
            after_commit=runtime.relay(outbox),
            **runtime.consumer_kwargs(),
        )
    )


SPEC = ServiceSpec(
    name="payments-bridge",
    schema=SCHEMA,
    migrations=Path(__file__).parent / "migrations",
    wire=wire,
    routers=[router],
)


def run() -> None:
    serve(SPEC, PaymentsBridgeSettings())
