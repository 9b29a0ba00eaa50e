"""The ``lifesign`` command: run the stack, the demo, migrations."""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lifesign.runtime import SERVICES, stack
from lifesign.settings import LifesignSettings

app = typer.Typer(
    help="lifesign: continuous pension-entitlement certification.", no_args_is_help=True
)
# Rich wraps at 80 columns when output is not a terminal (make, CI logs): give it room.
console = Console(width=None if Console().is_terminal else 120)

VarDir = Annotated[Path, typer.Option(help="Where embedded data and logs live.")]


def _external(settings: LifesignSettings) -> tuple[str | None, str | None]:
    """A broker or database given in the environment is used instead of the embedded one."""
    given = settings.model_fields_set
    return (
        settings.kafka_bootstrap if "kafka_bootstrap" in given else None,
        settings.database_url if "database_url" in given else None,
    )


@app.command()
def up(var_dir: VarDir = Path("var/up")) -> None:
    """Start everything on this machine (embedded Tansu and PostgreSQL unless
    LIFESIGN_KAFKA_BOOTSTRAP / LIFESIGN_DATABASE_URL point elsewhere) until Ctrl-C."""
    kafka, database = _external(LifesignSettings())
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with stack(
        var_dir=var_dir, kafka_bootstrap=kafka, database_url=database, base_port=8100
    ) as running:
        table = Table("service", "url", title="lifesign is up")
        for name in SERVICES:
            table.add_row(name, running.supervisor.url(name))
        console.print(table)
        console.print(f"Kafka: {running.kafka_bootstrap}   logs: {var_dir / 'logs'}")
        console.print("Ctrl-C stops everything.")
        while not stopping:
            time.sleep(0.2)
        console.print("stopping…")
    console.print("stopped; no process left behind.")


@app.command()
def demo(var_dir: VarDir = Path("var/demo")) -> None:
    """Run the end-to-end slice through separate processes and print what happened."""
    from lifesign import demo as scenario

    settings = LifesignSettings()
    kafka, database = _external(settings)
    if var_dir.exists() and database is None:
        shutil.rmtree(var_dir)  # the embedded broker forgets; so must the embedded database
    started = time.monotonic()
    with console.status("starting Tansu, PostgreSQL and seven services…"):
        running = stack(var_dir=var_dir, kafka_bootstrap=kafka, database_url=database)
        handle = running.__enter__()
    try:
        console.print(f"stack up in {time.monotonic() - started:.1f}s (logs in {var_dir / 'logs'})")
        with console.status("importing the registry and publishing department records…"):
            result = asyncio.run(
                scenario.run_slice(
                    bootstrap=handle.kafka_bootstrap,
                    ingest_url=handle.supervisor.url("ingest"),
                    pseudonymizer=settings.pseudonymizer,
                    now=settings.make_clock().now(),
                )
            )
    finally:
        running.__exit__(None, None, None)
    _print_slice(result)
    console.print(f"[bold]demo finished in {time.monotonic() - started:.1f}s[/bold]")


def _print_slice(result: object) -> None:
    from lifesign.demo import SliceResult, summary_rows

    assert isinstance(result, SliceResult)  # noqa: S101 - a programming error otherwise
    answer = result.import_answer
    console.print(
        f"registry: {answer['imported']} of {answer['rows']} rows imported; "
        f"first statuses published in {result.seconds_registry:.2f}s"
    )
    table = Table("pensioner", "id number", "before", "after", "rule", "payment commands")
    for row in summary_rows(result):
        table.add_row(*row.values())
    console.print(table)
    console.print(f"department records processed end to end in {result.seconds_events:.2f}s")
    console.print("dead-letter topic (events.rejected.v1):")
    for letter in result.observed.dead_letters:
        console.print(f"  • {letter.consumer}: {letter.reason}", markup=False)
    suspends = [c for c in result.observed.commands if c.kind.value == "suspend"]
    console.print(
        f"payment commands: {len(result.observed.commands)} "
        f"({len(suspends)} SUSPEND; the duplicate funeral record caused none)"
    )


@app.command()
def migrate() -> None:
    """Apply every service's migrations to LIFESIGN_DATABASE_URL."""
    import importlib

    from lifesign.db import upgrade

    url = LifesignSettings().database_url
    for name in SERVICES:
        module = importlib.import_module(f"lifesign_{name.replace('-', '_')}.main")
        spec = module.SPEC
        asyncio.run(upgrade(url, spec.migrations, spec.schema))
        console.print(f"{name}: schema {spec.schema} at head")


@app.command()
def topics() -> None:
    """Create every topic on LIFESIGN_KAFKA_BOOTSTRAP (idempotent)."""
    from lifesign.bus import ensure_topics
    from lifesign.topics import all_topics

    names = all_topics()
    settings = LifesignSettings()
    asyncio.run(
        ensure_topics(
            settings.kafka_bootstrap,
            names,
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication,
        )
    )
    console.print(f"{len(names)} topics present")


if __name__ == "__main__":
    app()
