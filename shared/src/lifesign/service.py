"""The composition root every service shares: engine, producer, consumers, FastAPI app.

A service's ``main.py`` supplies its name, schema, migrations and a function that builds
its consumers from a :class:`Runtime`; this module wires the rest the same way for all of
them (STYLE: one ``bootstrap``), so tests can build a service around a real database and
broker without patching anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lifesign import db, telemetry
from lifesign.bus import BatchConsumer, Producer
from lifesign.clock import Clock
from lifesign.messaging import Outbox
from lifesign.settings import ServiceSettings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The parts of a running service, created in the lifespan."""

    name: str
    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    producer: Producer
    clock: Clock
    consumers: list[BatchConsumer[Any]] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    #: Parts a service's own API needs (its wire() puts them here, its endpoints read them).
    parts: dict[str, Any] = field(default_factory=dict)

    def every(self, seconds: float, job: Callable[[], Awaitable[Any]], *, name: str) -> None:
        """Run ``job`` every ``seconds`` until shutdown; a failure is logged and retried."""

        async def loop() -> None:
            while True:
                try:
                    await job()
                except Exception:
                    log.exception("%s: periodic job %s failed; retrying", self.name, name)
                await asyncio.sleep(seconds)

        self.background.append(loop)

    def relay(self, outbox: Outbox, *, every: float = 0.5) -> Callable[[], Awaitable[None]]:
        """Publish ``outbox`` periodically (what a crash left behind) and return the relay
        to pass as a consumer's ``after_commit`` (what a batch just wrote)."""

        async def relay() -> None:
            await outbox.relay(self.sessions, self.producer)

        self.every(every, relay, name="outbox relay")
        return relay

    def consumer_kwargs(self) -> dict[str, Any]:
        """The arguments every BatchConsumer of this service shares."""
        return {
            "bootstrap": self.settings.kafka_bootstrap,
            "sessions": self.sessions,
            "producer": self.producer,
            "max_records": self.settings.batch_max_records,
            "timeout_ms": self.settings.batch_timeout_ms,
            "session_timeout_ms": self.settings.session_timeout_ms,
        }


Wire = Callable[[Runtime], None]


@dataclass(frozen=True)
class ServiceSpec:
    """What a service tells the composition root about itself."""

    name: str
    schema: str
    migrations: Path
    wire: Wire
    routers: Sequence[APIRouter] = ()


@contextlib.asynccontextmanager
async def running(spec: ServiceSpec, settings: ServiceSettings) -> AsyncIterator[Runtime]:
    """Start a service's parts, run its consumers, and stop everything on exit."""
    telemetry.setup(spec.name, console=settings.otel_console)
    await db.upgrade(settings.database_url, spec.migrations, spec.schema)
    engine = db.make_engine(settings.database_url, planner=settings.database_planner)
    producer = Producer(settings.kafka_bootstrap, client_id=spec.name)
    await producer.start()
    runtime = Runtime(
        name=spec.name,
        settings=settings,
        engine=engine,
        sessions=db.make_sessions(engine),
        producer=producer,
        clock=settings.make_clock(),
    )
    spec.wire(runtime)
    tasks = [asyncio.create_task(c.run(), name=c.name) for c in runtime.consumers]
    runtime.tasks = tasks
    periodic = [asyncio.create_task(job(), name="periodic") for job in runtime.background]
    try:
        yield runtime
    finally:
        for task in periodic:
            task.cancel()
        for consumer in runtime.consumers:
            consumer.stop()
        # A consumer finishes its batch (and commits) before it returns.
        done, pending = await asyncio.wait(tasks, timeout=15) if tasks else (set(), set())
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("%s stopped with an error: %r", task.get_name(), task.exception())
        await producer.stop()
        await engine.dispose()


def create_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    """The FastAPI app of a service: its routers plus ``/health`` and ``/metrics``."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running(spec, settings) as runtime:
            app.state.runtime = runtime
            yield

    app = FastAPI(title=f"lifesign {spec.name}", lifespan=lifespan)
    app.include_router(health_router())
    for router in spec.routers:
        app.include_router(router)
    return app


def health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    async def health(request: Request, response: Response) -> dict[str, Any]:
        """200 while every consumer runs; 503 once one has stopped (a probe restarts us)."""
        runtime: Runtime = request.app.state.runtime
        stopped = [t.get_name() for t in runtime.tasks if t.done()]
        if stopped:
            response.status_code = 503
        return {
            "service": runtime.name,
            "status": "stopped consumers: " + ", ".join(stopped) if stopped else "ok",
            "consumers": _consumer_stats(runtime),
        }

    @router.get("/metrics")
    async def metrics(request: Request) -> dict[str, Any]:
        runtime: Runtime = request.app.state.runtime
        return {"consumers": _consumer_stats(runtime)}

    return router


def _consumer_stats(runtime: Runtime) -> dict[str, dict[str, Any]]:
    return {
        c.name: {
            "topics": c.topics,
            "received": c.stats.received,
            "handled": c.stats.handled,
            "dead_lettered": c.stats.dead_lettered,
            "batches": c.stats.batches,
            "retries": c.stats.retries,
            "commit_failures": c.stats.commit_failures,
            "last_error": c.stats.last_error,
            "idle": c.stats.idle,
        }
        for c in runtime.consumers
    }


def serve(spec: ServiceSpec, settings: ServiceSettings) -> None:
    """Run a service under uvicorn until SIGINT/SIGTERM (its lifespan stops it cleanly)."""
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s {spec.name} %(levelname)s %(name)s: %(message)s"
    )
    # aiokafka logs every partition it is assigned at INFO: hundreds of lines per start.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    uvicorn.run(
        create_app(spec, settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        lifespan="on",
    )
