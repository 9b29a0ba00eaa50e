"""The ``lifesign`` command: run the stack, the demo, migrations."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import time
from pathlib import Path
from typing import Annotated, Any

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
def demo(
    var_dir: VarDir = Path("var/demo"),
    slice_only: Annotated[
        bool, typer.Option("--slice", help="Only the four-pensioner slice of the foundation.")
    ] = False,
    persons: Annotated[int, typer.Option(help="Pensioners of the simulated county.")] = 3000,
    days: Annotated[int, typer.Option(help="Simulated days.")] = 365,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 1,
    scoring: Annotated[
        bool, typer.Option(help="Big-data auxiliary certification by the scoring model.")
    ] = True,
) -> None:
    """The main job on embedded defaults: a simulated county through the services, then the
    evaluation against its ground truth (``--slice``: the foundation's slice instead)."""
    if slice_only:
        _demo_slice(var_dir)
    else:
        _demo_county(var_dir, persons=persons, days=days, seed=seed, scoring=scoring)


def _demo_county(
    var_dir: Path, *, persons: int, days: int, seed: int, scoring: bool = True
) -> None:
    from datetime import date, timedelta

    sim = _simulator()
    from lifesign_sim import county

    settings = LifesignSettings()
    kafka, database = _external(settings)
    if var_dir.exists() and database is None:
        shutil.rmtree(var_dir)
    # A year that is over: every record of it has been published by now.
    start = date(settings.make_clock().today().year - 1, 1, 1)
    started = time.monotonic()
    province, results = var_dir / "province", var_dir / "results"
    with console.status(f"simulating {persons:,} pensioners over {days} days…"):
        config = sim.simulate.SimulationConfig(persons=persons, start=start, days=days, seed=seed)
        manifest = sim.simulate.run(config, province)
    seconds_simulate = time.monotonic() - started
    console.print(
        f"simulated {manifest['persons']:,} pensioners from {start}: {manifest['deaths']} deaths, "
        f"{manifest['records']:,} department records ({seconds_simulate:.1f}s)"
    )
    model = _demo_model(var_dir, start=start, seed=seed) if scoring else None
    decisions: dict[str, int] = {}
    with console.status("starting Tansu, PostgreSQL and seven services…"):
        # The demo drives the daily sweep itself, date by simulated date.
        running = stack(
            var_dir=var_dir,
            kafka_bootstrap=kafka,
            database_url=database,
            extra_env={
                "LIFESIGN_SWEEP_INTERVAL_S": "0",
                "LIFESIGN_DECIDE_INTERVAL_S": "0",
                "LIFESIGN_SCORING_ENABLED": str(scoring).lower(),
            },
        )
        handle = running.__enter__()
    try:
        urls = {name: handle.supervisor.url(name) for name in SERVICES}
        with console.status("importing the registry and publishing a year of department records…"):
            run = asyncio.run(
                county.run_county(
                    province=province, results=results, bootstrap=handle.kafka_bootstrap,
                    urls=urls, start=start, manifest=manifest, seconds_simulate=seconds_simulate,
                    model=model, decisions=decisions, pseudonymizer=settings.pseudonymizer,
                )
            )  # fmt: skip
    finally:
        running.__exit__(None, None, None)
    console.print(
        f"registry: {run.registry['imported']:,} of {run.registry['rows']:,} imported; "
        f"{run.published:,} records published and processed in {run.seconds_pipeline:.1f}s "
        f"({run.published / max(run.seconds_pipeline, 0.001):,.0f} records/s through all services)"
    )
    if decisions:
        console.print(
            f"scoring decisions: {decisions.get('decided', 0):,} pensioners in the warning "
            f"period decided, {decisions.get('confirmed', 0):,} confirmed alive (big_data_aux)"
        )
    console.print(
        "topics dumped: " + ", ".join(f"{t} {n:,}" for t, n in sorted(run.dumped.items()))
    )
    if run.latency.get("suspended"):
        console.print(
            f"death record published -> SUSPEND (wall clock, {run.latency['suspended']} of "
            f"{run.latency['deaths_published']} reported deaths): "
            f"median {run.latency['seconds_p50']:.1f}s, p95 {run.latency['seconds_p95']:.1f}s, "
            f"max {run.latency['seconds_max']:.1f}s"
        )
    end = start + timedelta(days=days - 1)
    metrics = sim.evaluate.evaluate(
        province, results, pseudonymizer=settings.pseudonymizer, start=start, end=end
    )
    report = var_dir / "evaluation.html"
    report.write_text(sim.report.render_html(metrics), encoding="utf-8")
    (var_dir / "evaluation.json").write_text(
        json.dumps(metrics, ensure_ascii=False, default=str, indent=2), encoding="utf-8"
    )
    _print_metrics(metrics)
    console.print(f"report: {report}   metrics: {var_dir / 'evaluation.json'}")
    console.print(f"[bold]demo finished in {time.monotonic() - started:.1f}s[/bold]")


#: Pensioners of the earlier simulated province the demo's model is trained on.
DEMO_TRAINING_PERSONS = 6000


def _demo_model(var_dir: Path, *, start: Any, seed: int) -> Path:
    """The scoring model, trained beforehand on the two simulated years before the demo's
    (same seed), never on the year it is then judged on. It depends only on those, so it is
    kept beside the demo's directory and trained again only when missing or unreadable."""
    from datetime import timedelta

    from lifesign_scoring.features import FEATURE_VERSION
    from lifesign_scoring.learning import load_model

    sim = _simulator()
    began = time.monotonic()
    key = f"{start.isoformat()}-s{seed}-p{DEMO_TRAINING_PERSONS}-f{FEATURE_VERSION}"
    path = var_dir.parent / "scoring-models" / key / "model.json"
    report_path = path.with_suffix(".report.json")
    try:
        load_model(path.read_bytes())
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        earlier = var_dir / "training-province"
        with console.status("training the scoring model on the two years before…"):
            config = sim.simulate.SimulationConfig(
                persons=DEMO_TRAINING_PERSONS,
                start=start - timedelta(days=730),
                days=730,
                seed=seed,
            )
            sim.simulate.run(config, earlier)
            report = _train_model(earlier, path, "")
            shutil.rmtree(earlier)
    test = report["test"]["xgboost"]
    console.print(
        f"scoring model {report['model_version']} ({time.monotonic() - began:.1f}s): test AUC "
        f"{test['auc']:.3f}, dead certified {test['dead_certified']} of {test['dead']}, living "
        f"certified {test['living_certified_share']:.1%} (report: {report_path})"
    )
    return path


def _demo_slice(var_dir: Path) -> None:
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
def simulate(
    persons: Annotated[int, typer.Option(help="How many pensioners.")] = 10_000,
    start: Annotated[str, typer.Option(help="First simulated day (YYYY-MM-DD).")] = "2025-01-01",
    days: Annotated[int, typer.Option(help="How many days to simulate.")] = 365,
    seed: Annotated[int, typer.Option(help="Same seed, same output, byte for byte.")] = 1,
    out: Annotated[Path, typer.Option(help="Output directory (replaced).")] = Path("var/province"),
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 2,
    mortality_scale: Annotated[
        float, typer.Option(help="Multiplier of the CL5/CL6 annuity death rates.")
    ] = 1.5,
) -> None:
    """Write a synthetic province: registry, department feeds, ground truth."""
    from dataclasses import replace
    from datetime import date

    sim = _simulator()
    config = sim.simulate.SimulationConfig(
        persons=persons, start=date.fromisoformat(start), days=days, seed=seed, workers=workers
    )
    config = replace(config, life=replace(config.life, mortality_scale=mortality_scale))
    started = time.monotonic()
    manifest = sim.simulate.run(config, out)
    console.print(
        f"{manifest['persons']:,} pensioners, {manifest['deaths']:,} deaths, "
        f"{manifest['records']:,} department records in {out} "
        f"({time.monotonic() - started:.1f}s)"
    )


@app.command()
def publish(
    province: Annotated[Path, typer.Option(help="The simulator's output directory.")],
) -> None:
    """Publish a simulated province's feeds to LIFESIGN_KAFKA_BOOTSTRAP in the order the
    departments published them, each message timestamped with its simulated time."""
    _simulator()
    from lifesign_sim import county

    started = time.monotonic()
    sent = asyncio.run(county.publish(LifesignSettings().kafka_bootstrap, province))
    console.print(f"{sent:,} records published in {time.monotonic() - started:.1f}s")


@app.command()
def evaluate(
    truth: Annotated[Path, typer.Option(help="The simulator's output directory.")],
    results: Annotated[Path, typer.Option(help="What the platform decided (topic dumps).")],
    json_only: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    html: Annotated[Path | None, typer.Option(help="Also write the HTML report here.")] = None,
) -> None:
    """Compare the platform's decisions with the ground truth."""
    from datetime import date, timedelta

    sim = _simulator()
    manifest = json.loads((truth / "manifest.json").read_text())
    first = date.fromisoformat(manifest["parameters"]["start"])
    last = first + timedelta(days=int(manifest["parameters"]["days"]) - 1)
    metrics = sim.evaluate.evaluate(
        truth, results, pseudonymizer=LifesignSettings().pseudonymizer, start=first, end=last
    )
    if html is not None:
        html.write_text(sim.report.render_html(metrics), encoding="utf-8")
    if json_only:
        print(json.dumps(metrics, ensure_ascii=False, default=str))
        return
    _print_metrics(metrics)


def _print_metrics(metrics: dict[str, object]) -> None:
    table = Table("measure", "value", title="evaluation against the ground truth")
    for key in (
        "deaths", "deaths_suspended", "death_to_suspension_days_p50",
        "death_to_suspension_days_p95", "improper_payment_yuan",
        "improper_payment_recovered_yuan", "living_wrongly_suspended",
        "living_wrongly_suspended_person_days", "big_data_certified_share",
        "big_data_aux_certified_share",
        "living_asked_to_act", "clean_records_quarantined_share",
    ):  # fmt: skip
        table.add_row(key, str(metrics.get(key)))
    console.print(table)
    recall = metrics.get("defect_recall") or {}
    if isinstance(recall, dict):
        console.print(
            "defect recall: "
            + ", ".join(
                f"{k} {'-' if v is None else f'{v:.0%}'}" for k, v in sorted(recall.items())
            )
        )


def _simulator() -> Any:
    try:
        import lifesign_sim.evaluate
        import lifesign_sim.report
        import lifesign_sim.simulate
    except ImportError as error:  # a service image ships without the simulator
        raise typer.BadParameter(f"the simulator package is not installed ({error})") from error
    return lifesign_sim


@app.command("quality-report")
def quality_report(
    first: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, Beijing).")],
    last: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD, Beijing).")],
    quality: Annotated[str, typer.Option(help="The quality service's URL.")] = (
        "http://127.0.0.1:8102"
    ),
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Also write the HTML page (with charts) here.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
) -> None:
    """The data-quality report (R-8.2.3.2): per source, every table-1 dimension's score,
    the worst rules with masked examples, silent or flooding sources."""
    import httpx

    period = {"from": first, "to": last}
    answer = httpx.get(f"{quality}/report", params=period, timeout=120)
    if answer.status_code == 422:
        raise typer.BadParameter(answer.text)
    answer.raise_for_status()
    found = answer.json()
    if html_out is not None:
        page = httpx.get(f"{quality}/report.html", params=period, timeout=120)
        page.raise_for_status()
        html_out.write_text(page.text, encoding="utf-8")
    if as_json:
        console.print_json(data=found)
        return
    _print_quality_report(found)
    if html_out is not None:
        console.print(f"report page: {html_out}")


def _print_quality_report(found: dict[str, Any]) -> None:
    totals = found["totals"]
    console.print(
        f"{found['period']['from']} to {found['period']['to']}: "
        + ", ".join(f"{k} {v:,}" for k, v in totals.items())
        + ("" if found["balanced"] else "  [bold red]counts do not balance[/bold red]")
    )
    scores = Table("dimension", "score")
    for name, score in found["scores"].items():
        scores.add_row(name, "n/a" if score is None else f"{score:.2%}")
    console.print(scores)
    worst = Table("rule", "dimension", "severity", "records", "example (masked)")
    for w in found["worst_rules"]:
        example = w["examples"][0] if w["examples"] else None
        shown = (
            f"{example['source']} {example['id_masked']}: {example['message']}" if example else ""
        )
        worst.add_row(
            w["rule_id"], str(w["dimension"]), str(w["severity"]), f"{w['count']:,}", shown
        )
    console.print(worst)
    volume = found["silent_or_flooding"]
    if volume:
        console.print(
            "silent or flooding: "
            + "; ".join(f"{v['source']} {v['day']} {v['kind']} ({v['observed']})" for v in volume)
        )


@app.command()
def upload(
    source: Annotated[str, typer.Argument(help="The catalogue source the file belongs to.")],
    file: Annotated[Path, typer.Argument(help="A CSV or JSON-lines feed file.", exists=True)],
    file_format: Annotated[
        str, typer.Option("--format", help="csv or jsonl (default: from the file name).")
    ] = "",
    encoding: Annotated[str, typer.Option(help="utf-8 or gbk.")] = "utf-8",
    ingest: Annotated[str, typer.Option(help="The ingest service's URL.")] = (
        "http://127.0.0.1:8101"
    ),
    errors_out: Annotated[
        Path | None, typer.Option("--errors", help="Write every rejected row (CSV) here.")
    ] = None,
) -> None:
    """Upload a department's feed file to ingest (R-7.3.1), streamed in 1 MiB pieces; print
    the counts and the first rejected rows with their reasons."""
    import httpx

    def pieces() -> Any:
        with file.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                yield chunk

    # Connecting and sending are bounded; the answer comes once the last row is processed.
    timeout = httpx.Timeout(60.0, read=None)
    fmt = file_format or ("jsonl" if file.suffix in (".jsonl", ".json", ".ndjson") else "csv")
    params = {"format": fmt, "encoding": encoding, "file": file.name}
    answer = httpx.post(
        f"{ingest}/feeds/{source}/upload", params=params, content=pieces(), timeout=timeout
    )
    if answer.status_code in (400, 404):
        raise typer.BadParameter(answer.json()["detail"])
    answer.raise_for_status()
    found = answer.json()
    console.print(
        f"{found['file']}: {found['rows']:,} rows, {found['accepted']:,} accepted, "
        f"{found['rejected']:,} rejected (upload {found['upload_id']})"
    )
    rejected = Table("row", "record id", "reason")
    for error in found["errors"][:20]:
        rejected.add_row(str(error["row"]), error["record_id"] or "", error["reason"])
    if found["errors"]:
        console.print(rejected)
    if errors_out is not None:
        with httpx.stream("GET", f"{ingest}{found['errors_file']}", timeout=timeout) as stream:
            stream.raise_for_status()
            with errors_out.open("wb") as out:
                for chunk in stream.iter_bytes():
                    out.write(chunk)
        console.print(f"every rejected row: {errors_out}")


@app.command()
def explain(
    pseudonym: Annotated[str, typer.Argument(help="The person's pseudonym.")],
    matcher: Annotated[str, typer.Option(help="The matcher's URL.")] = "http://127.0.0.1:8103",
) -> None:
    """Why is this person on this list: every transition with its rule and evidence."""
    import httpx

    answer = httpx.get(f"{matcher}/persons/{pseudonym}/explain", timeout=10)
    if answer.status_code == 404:
        raise typer.BadParameter("no certification state for this person")
    answer.raise_for_status()
    found = answer.json()
    state = found["state"]
    console.print(
        f"status {state['status']} ({state['rule']}), valid {state['validity_start']} "
        f"to {state['validity_end']}, payment held: {state['hold_payment']}"
    )
    table = Table("version", "as of", "from", "to", "rule", "conflict", "evidence")
    for t in found["transitions"]:
        table.add_row(
            str(t["version"]), str(t["as_of"]), str(t["from_status"]), t["to_status"],
            t["rule"], t["conflict"] or "", ", ".join(e[:8] for e in t["evidence"]),
        )  # fmt: skip
    console.print(table)
    events = Table("occurred", "source", "evidence", "R-7.5.1 branch", "event")
    for e in found["events"]:
        events.add_row(
            str(e["occurred_at"]), e["source"], e["evidence"], e["outcome"], str(e["event_id"])[:8]
        )
    console.print(events)


SCORING_URL = "http://127.0.0.1:8104"
model_app = typer.Typer(help="The scoring model registry (R-8.2.4).", no_args_is_help=True)
app.add_typer(model_app, name="model")


@app.command()
def train(
    province: Annotated[Path, typer.Option(help="A simulated province (lifesign simulate).")],
    out: Annotated[Path, typer.Option(help="Where to write the model.")] = Path("var/model.json"),
    version: Annotated[str, typer.Option(help="The model version.")] = "",
) -> None:
    """Train the scoring model on a simulated province split by time (R-7.5.2.2) and write
    it with its training report (``<out>.report.json``)."""
    report = _train_model(province, out, version)
    _print_training(report)


def _train_model(province: Path, out: Path, version: str) -> dict[str, Any]:
    from datetime import date

    _simulator()
    from lifesign_sim import training

    manifest = json.loads((province / "manifest.json").read_text())
    start = date.fromisoformat(manifest["parameters"]["start"])
    days = int(manifest["parameters"]["days"])
    version = version or f"xgb-{start.isoformat()}-{days}d-s{manifest['parameters']['seed']}"
    model, report = training.train_on_province(province, version=version)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(model.to_bytes())
    out.with_suffix(".report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return report


def _print_training(report: dict[str, Any]) -> None:
    table = Table("on the test period", "AUC", "dead certified", "living certified",
                  "impersonation certified", title=f"model {report['model_version']}")  # fmt: skip
    for name, r in report["test"].items():
        table.add_row(
            name, f"{r['auc']:.3f}" if r["auc"] is not None else "-",
            f"{r['dead_certified']} of {r['dead']} ({(r['dead_certified_rate'] or 0):.2%})",
            f"{(r['living_certified_share'] or 0):.1%}",
            f"{r.get('impersonation_certified', 0)} of {r.get('impersonation_windows', 0)}",
        )  # fmt: skip
    console.print(table)
    flagged = [
        f"{kind} {row['group']}" for kind, rows in report["fairness"].items()
        if isinstance(rows, list) for row in rows if row["flagged"]
    ]  # fmt: skip
    console.print("fairness gaps flagged: " + (", ".join(flagged) or "none"))


@model_app.command("list")
def model_list(scoring: Annotated[str, typer.Option(help="Scoring's URL.")] = SCORING_URL) -> None:
    """Every model version with its window, size, threshold, role and who promoted it."""
    import httpx

    answer = httpx.get(f"{scoring}/models", timeout=10)
    answer.raise_for_status()
    table = Table("version", "role", "trained", "rows", "threshold", "promoted by")
    for m in answer.json():
        table.add_row(
            m["version"], m["role"], f"{m['trained_from']}..{m['trained_to']}", str(m["rows"]),
            f"{m['threshold']:.6f}", m["promoted_by"] or "",
        )  # fmt: skip
    console.print(table)


@model_app.command("register")
def model_register(
    path: Annotated[Path, typer.Argument(help="A model written by lifesign train.")],
    scoring: Annotated[str, typer.Option(help="Scoring's URL.")] = SCORING_URL,
) -> None:
    """Register a trained model as a challenger."""
    import httpx

    answer = httpx.post(f"{scoring}/models", content=path.read_bytes(), timeout=60)
    answer.raise_for_status()
    console.print(answer.json())


@model_app.command("rules")
def model_rules(
    report: Annotated[Path, typer.Option(help="A training report (lifesign train).")],
    approve: Annotated[str, typer.Option(help="Approved rule ids, comma separated.")],
    by: Annotated[str, typer.Option(help="Who approved them.")],
    out: Annotated[Path, typer.Option(help="Where to write the rule model.")],
    version: Annotated[str, typer.Option(help="The rule model's id.")] = "",
) -> None:
    """Make a rule model of the rules staff approved (R-8.2.4); register it like a model."""
    from lifesign_scoring.rules import approve as approve_rules

    found = json.loads(report.read_text(encoding="utf-8"))
    ids = [i.strip() for i in approve.split(",") if i.strip()]
    version = version or f"rules-{found['model_version']}-{'-'.join(i.split('-')[-1] for i in ids)}"
    model = approve_rules(found["rules"], ids, version=version, by=by)
    out.write_bytes(model.to_bytes())
    console.print(f"rule model {version}: {len(model.rules)} rules approved by {by} → {out}")


@model_app.command("challenge")
def model_challenge(
    province: Annotated[Path, typer.Option(help="The latest outcomes (a simulated province).")],
    by: Annotated[str, typer.Option(help="Who (or which job) decides the promotion.")],
    scoring: Annotated[str, typer.Option(help="Scoring's URL.")] = SCORING_URL,
    out: Annotated[Path, typer.Option(help="Where to write the challenger.")] = Path(
        "var/challenger.json"
    ),
) -> None:
    """Retrain a challenger on the latest outcomes, compare it with the champion on the same
    held-out period, and promote it only if it wins (R-8.2.4); run it on a schedule."""
    import httpx

    _simulator()
    from lifesign_scoring.learning import challenger_wins, load_model, rates
    from lifesign_sim import training

    report = _train_model(province, out, "")
    champion = next(
        (m for m in httpx.get(f"{scoring}/models", timeout=10).json() if m["role"] == "champion"),
        None,
    )
    mine = report["test"]["xgboost"]
    theirs: dict[str, Any] | None = None
    if champion is not None:
        blob = httpx.get(f"{scoring}/models/{champion['version']}/artifact", timeout=60).content
        held_out = training.province_split(province).test  # the challenger's test period
        theirs = rates(*load_model(blob).decide(held_out.x), held_out)
    console.print({"challenger": mine, "champion": theirs})
    httpx.post(f"{scoring}/models", content=out.read_bytes(), timeout=60).raise_for_status()
    if theirs is None or challenger_wins(mine, theirs):
        version = report["model_version"]
        httpx.post(
            f"{scoring}/models/{version}/promote", params={"by": by}, timeout=10
        ).raise_for_status()
        console.print(f"promoted {version}")
    else:
        console.print("the champion stays: the challenger is not better on the same period")


@model_app.command("promote")
def model_promote(
    version: Annotated[str, typer.Argument(help="The version to make champion.")],
    by: Annotated[str, typer.Option(help="Who promotes it.")],
    scoring: Annotated[str, typer.Option(help="Scoring's URL.")] = SCORING_URL,
) -> None:
    """Make a version the champion (the former one is retired)."""
    import httpx

    answer = httpx.post(f"{scoring}/models/{version}/promote", params={"by": by}, timeout=10)
    answer.raise_for_status()
    console.print(answer.json())


@model_app.command("rollback")
def model_rollback(
    by: Annotated[str, typer.Option(help="Who rolls back.")],
    scoring: Annotated[str, typer.Option(help="Scoring's URL.")] = SCORING_URL,
) -> None:
    """Restore the previous champion."""
    import httpx

    answer = httpx.post(f"{scoring}/models/rollback", params={"by": by}, timeout=10)
    answer.raise_for_status()
    console.print(answer.json())


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
