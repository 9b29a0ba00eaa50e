"""``lifesign simulate``: a synthetic province, streamed to files in deterministic chunks.

People are generated and simulated chunk by chunk (two worker processes by default); each
chunk appends its records to bucket files by (source, month of reporting). A final pass
sorts each bucket in memory (one source-month at a time) and writes the feeds in the order
departments published them, so no step holds the whole population or all events. The
output depends only on the parameters and the seed: the sort key (reporting time, record
id) is total, so the order in which chunks finish does not matter.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from lifesign.catalogue import CATALOGUE
from lifesign_ingest.service import REGISTRY_COLUMNS
from lifesign_sim.formats import (
    FEEDS_DIR,
    MANIFEST_FILE,
    PERSON_COLUMNS,
    PERSONS_FILE,
    RECORD_COLUMNS,
    RECORDS_FILE,
    REGISTRY_FILE,
    Defect,
    Expected,
    RecordKind,
)
from lifesign_sim.lives import (
    SOURCES,
    Life,
    LifeConfig,
    death_report_time,
    occurrences,
    simulate_lives,
)
from lifesign_sim.population import Person, PopulationConfig, generate_chunk, registry_row
from lifesign_sim.records import (
    DEATH_SOURCES,
    DefectConfig,
    Defects,
    Event,
    Record,
    attributes_for,
    batch_delay_days,
    make_record,
    silent_source,
)

WORK_DIR = ".work"


@dataclass(frozen=True)
class SimulationConfig:
    persons: int
    start: date
    days: int
    seed: int
    chunk_size: int = 10_000
    workers: int = 2
    population: PopulationConfig = field(default_factory=PopulationConfig)
    life: LifeConfig = field(default_factory=LifeConfig)
    defects: DefectConfig = field(default_factory=DefectConfig)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days)

    @property
    def chunks(self) -> int:
        return -(-self.persons // self.chunk_size)


@dataclass
class ChunkResult:
    chunk_no: int
    persons_csv: str
    registry_csv: str
    counts: Counter[str]


def run(config: SimulationConfig, out: Path) -> dict[str, Any]:
    """Simulate and write everything under ``out``; return the manifest."""
    if out.exists():
        shutil.rmtree(out)
    (out / "truth").mkdir(parents=True)
    (out / FEEDS_DIR).mkdir()
    work = out / WORK_DIR
    (work / "truth").mkdir(parents=True)
    counts: Counter[str] = Counter()
    with (
        open(out / PERSONS_FILE, "w", encoding="utf-8", newline="") as persons,
        open(out / REGISTRY_FILE, "w", encoding="utf-8", newline="") as registry,
    ):
        persons.write(",".join(PERSON_COLUMNS) + "\n")
        registry.write(",".join(name for name, _, _ in REGISTRY_COLUMNS) + "\n")
        for result in _chunk_results(config, work):
            persons.write(result.persons_csv)
            registry.write(result.registry_csv)
            counts.update(result.counts)
    _merge_buckets(work, out, config.workers)
    shutil.rmtree(work)
    manifest = _manifest(config, counts)
    (out / MANIFEST_FILE).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return manifest


def _chunk_results(config: SimulationConfig, work: Path) -> Iterator[ChunkResult]:
    tasks = [(config, work, n) for n in range(config.chunks)]
    if config.workers <= 1:
        yield from (simulate_chunk(*task) for task in tasks)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(config.workers) as pool:
        # imap keeps chunk order, so persons.csv and registry.csv are in person order.
        yield from pool.imap(_simulate_task, tasks)


def _simulate_task(task: tuple[SimulationConfig, Path, int]) -> ChunkResult:
    return simulate_chunk(*task)


def simulate_chunk(config: SimulationConfig, work: Path, chunk_no: int) -> ChunkResult:
    """One chunk: people, their lives, their records (appended to this worker's buckets)."""
    people = generate_chunk(
        config.seed,
        chunk_no,
        chunk_size=config.chunk_size,
        total=config.persons,
        start=config.start,
        days=config.days,
        config=config.population,
    )
    rng = np.random.default_rng([config.seed, chunk_no, 7])
    lives = simulate_lives(people, rng, config.start, config.days, config.life)
    counts: Counter[str] = Counter(persons=len(people))
    counts["deaths"] += sum(1 for life in lives if life.death_date is not None)
    buckets: dict[tuple[str, str], list[bytes]] = {}
    truth: list[str] = []
    defects = Defects(config.defects, np.random.default_rng([config.seed, chunk_no, 11]))
    tally: Counter[tuple[str, str, str]] = Counter()
    for record in _records(config, people, lives, rng, chunk_no, defects):
        buckets.setdefault((record.source, record.reported_at[:7]), []).append(record.line)
        truth.append(record.truth_row())
        tally[(record.source, record.defect or "", record.kind)] += 1
    for (source, defect, kind), n in tally.items():
        counts[f"source:{source}"] += n
        counts[f"defect:{defect}"] += n
        counts[f"kind:{kind}"] += n
    _append_buckets(work, buckets)
    # The truth of a chunk in generation order; chunks are joined in order at the end.
    (work / "truth" / f"{chunk_no:06d}.csv").write_text("\n".join([*truth, ""]), encoding="utf-8")
    persons = _persons_csv(people, lives, datetime.combine(config.end, time()))
    return ChunkResult(chunk_no, persons, _registry_csv(people), counts)


def _records(
    config: SimulationConfig,
    people: list[Person],
    lives: list[Life],
    rng: np.random.Generator,
    chunk_no: int,
    defects: Defects,
) -> Iterator[Record]:
    start = datetime.combine(config.start, time())
    end = datetime.combine(config.end, time())
    end_iso = end.isoformat()
    silent, silent_from, silent_to = silent_source(config.seed, config.start, config.days)
    for event in _events(config, people, lives, rng, chunk_no):
        timing = _timing_defect(config, event, silent, silent_from, silent_to)
        if event.reported >= end or event.occurred < start - timedelta(days=400):
            continue  # not yet published within the period
        if timing is not None:
            yield _timing_record(event, timing)
            continue
        for record in defects.records(event):
            if record.reported_at < end_iso:
                yield record


def _timing_defect(
    config: SimulationConfig, event: Event, silent: str, silent_from: date, silent_to: date
) -> Defect | None:
    """Late batches and the silent week move the reporting time of a whole batch."""
    day = event.reported.date()
    late = batch_delay_days(config.seed, event.source, day, config.defects.late_batch_share)
    if late:
        event.reported += timedelta(days=late)
        return Defect.LATE_BATCH
    if event.source == silent and silent_from <= day < silent_to:
        # The backlog arrives when the feed comes back.
        event.reported = datetime.combine(silent_to, time(8)) + (
            event.reported - datetime.combine(day, time())
        )
        return Defect.SILENT_SOURCE
    return None


def _timing_record(event: Event, defect: Defect) -> Record:
    return make_record(event, defect, Expected.FLAG)


def _events(
    config: SimulationConfig,
    people: list[Person],
    lives: list[Life],
    rng: np.random.Generator,
    chunk_no: int,
) -> Iterator[Event]:
    start = datetime.combine(config.start, time())
    happened = occurrences(people, lives, rng, config.start, config.days, config.life)
    delays = _delays(rng, happened.source)
    draws = rng.integers(0, 2**31 - 1, size=happened.who.size).tolist()
    # Whole arrays to datetimes in C: a timedelta per record costs more than the rest.
    base = np.datetime64(start, "s")
    occurred_all = (base + happened.second.astype("timedelta64[s]")).tolist()
    reported_all = (base + (happened.second + delays).astype("timedelta64[s]")).tolist()
    sources = [CATALOGUE[SOURCES[i]] for i in happened.source.tolist()]
    impersonation = happened.impersonation.tolist()
    for n, who in enumerate(happened.who.tolist()):
        person = people[who]
        source = sources[n]
        occurred = occurred_all[n]
        yield Event(
            source=source.code,
            record_id=f"{chunk_no:05d}-{n:07d}",
            person_id=person.person_id,
            id_number=person.id_number,
            name=person.name,
            region=person.residence_region,
            occurred=occurred,
            reported=reported_all[n],
            kind=RecordKind.IMPERSONATION if impersonation[n] else RecordKind.GENUINE,
            attributes=attributes_for(source, occurred, draws[n]),
        )
    yield from _death_and_prison_events(people, lives, chunk_no)


def _delays(rng: np.random.Generator, source_index: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Seconds from event to publication: log-normal around each source's usual delay."""
    median_days = np.array([max(0.05, CATALOGUE[s].expected_delay_days) for s in SOURCES])
    median = median_days[source_index] * 86400.0
    delays: np.ndarray[Any, Any] = median * np.exp(0.6 * rng.standard_normal(source_index.size))
    return delays.astype(np.int64)


def _death_and_prison_events(
    people: list[Person], lives: list[Life], chunk_no: int
) -> Iterator[Event]:
    for i, (person, life) in enumerate(zip(people, lives, strict=True)):
        for k, (code, death, delay) in enumerate(life.death_reports):
            occurred, known = _death_record(code, death, delay)
            yield _life_event(person, chunk_no, f"D{i:05d}{k}", code, occurred,
                              death_report_time(death, delay), known)  # fmt: skip
        if life.moved_on is not None and not life.never_certifies:
            # Telling the agency about the new address is a change of personal information.
            moved = datetime.combine(life.moved_on, time(10))
            change = {"change_type": "address", "changed_on": life.moved_on.isoformat()}
            event = _life_event(
                person, chunk_no, f"M{i:05d}0", "pensioner_change", moved,
                moved + timedelta(days=1), change,
            )  # fmt: skip
            event.region = life.moved_to or person.residence_region
            yield event
        if life.prison_start is not None:
            start = datetime.combine(life.prison_start, time(9))
            known = {"sentence_start": life.prison_start.isoformat()}
            yield _life_event(person, chunk_no, f"J{i:05d}0", "prison_sentence", start,
                              start + timedelta(days=30), known)  # fmt: skip
            if life.prison_end is not None:
                released = datetime.combine(life.prison_end, time(9))
                known = {**known, "released_on": life.prison_end.isoformat()}
                yield _life_event(person, chunk_no, f"J{i:05d}1", "prison_sentence", released,
                                  released + timedelta(days=30), known)  # fmt: skip


def _death_record(code: str, death: date, delay: int) -> tuple[datetime, dict[str, Any]]:
    if code == "funeral_cremation":
        cremation = death + timedelta(days=min(2, delay))
        return datetime.combine(cremation, time(9)), {
            "death_date": death.isoformat(),
            "cremation_date": cremation.isoformat(),
        }
    if code == "household_cancellation":
        cancelled = death + timedelta(days=delay)
        return datetime.combine(cancelled, time(10)), {
            "cancellation_reason": "death",
            "cancellation_date": cancelled.isoformat(),
            "death_date": death.isoformat(),
        }
    return datetime.combine(death, time(12)), {"death_date": death.isoformat()}


def _life_event(
    person: Person,
    chunk_no: int,
    suffix: str,
    code: str,
    occurred: datetime,
    reported: datetime,
    known: dict[str, Any],
) -> Event:
    source = CATALOGUE[code]
    draw = person.index * 7919 + len(suffix)
    return Event(
        source=code,
        record_id=f"{chunk_no:05d}-{suffix}",
        person_id=person.person_id,
        id_number=person.id_number,
        name=person.name,
        region=person.residence_region,
        occurred=occurred,
        reported=max(reported, occurred),
        kind=RecordKind.GENUINE,
        attributes=attributes_for(source, occurred, draw, **known),
    )


def _append_buckets(work: Path, buckets: dict[tuple[str, str], list[bytes]]) -> None:
    mine = work / f"w{os.getpid()}"
    for (source, month), lines in buckets.items():
        folder = mine / source
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{month}.jsonl", "ab") as bucket:
            bucket.write(b"\n".join(lines) + b"\n")


def _merge_buckets(work: Path, out: Path, workers: int) -> None:
    """Sort each (source, month) bucket of every worker into the feeds, in parallel by
    source; join the chunks' truth files in chunk order."""
    sources = sorted({p.name for worker in _workers(work) for p in worker.iterdir()})
    tasks = [(work, out, source) for source in sources]
    if workers <= 1:
        for task in tasks:
            _merge_source(task)
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            pool.map(_merge_source, tasks, chunksize=1)
    with open(out / RECORDS_FILE, "wb") as records:
        records.write((",".join(RECORD_COLUMNS) + "\n").encode())
        for part in sorted((work / "truth").iterdir()):
            with open(part, "rb") as lines:
                shutil.copyfileobj(lines, records, 1 << 20)


def _workers(work: Path) -> list[Path]:
    return sorted(p for p in work.iterdir() if p.is_dir() and p.name.startswith("w"))


def _merge_source(task: tuple[Path, Path, str]) -> None:
    work, out, source = task
    months = sorted({p.name for w in _workers(work) for p in (w / source).glob("*.jsonl")})
    with open(out / FEEDS_DIR / f"{source}.jsonl", "wb") as feed:
        for month in months:
            lines: list[bytes] = []
            for worker in _workers(work):
                path = worker / source / month
                if path.exists():
                    lines += path.read_bytes().splitlines()
            lines.sort()  # lines begin with reported_at, then record_id: a total order
            feed.write(b"\n".join(lines) + b"\n")


def _persons_csv(people: list[Person], lives: list[Life], end: datetime) -> str:
    """The truth per person; ``death_reported`` counts only reports published before
    ``end`` (the feeds hold nothing later)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for p, life in zip(people, lives, strict=True):
        writer.writerow(
            [
                p.person_id, p.id_number, p.name, p.sex, p.birth_date.isoformat(),
                p.insurance_type.value, p.monthly_benefit, p.benefit_start.isoformat(),
                p.registration_region, p.residence_region, int(p.urban), int(p.abroad),
                p.profile.value, _iso(p.last_certified_on), _iso(life.death_date),
                int(life.death_reported_before(end)), _iso(life.impersonated_until),
                _iso(life.prison_start), _iso(life.prison_end), int(life.never_certifies),
                _iso(life.moved_on), life.moved_to or "",
            ]
        )  # fmt: skip
    return out.getvalue()


def _registry_csv(people: list[Person]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, [name for name, _, _ in REGISTRY_COLUMNS], lineterminator="\n")
    for person in people:
        writer.writerow(registry_row(person))
    return out.getvalue()


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def _manifest(config: SimulationConfig, counts: Counter[str]) -> dict[str, Any]:
    persons = counts["persons"]
    return {
        "parameters": {
            "persons": config.persons,
            "start": config.start.isoformat(),
            "days": config.days,
            "seed": config.seed,
            "chunk_size": config.chunk_size,
            "life": asdict(config.life),
            "defects": {d.value: r for d, r in config.defects.rates.items()},
            "late_batch_share": config.defects.late_batch_share,
        },
        "persons": persons,
        "deaths": counts["deaths"],
        "crude_death_rate_per_year": round(
            counts["deaths"] / max(1, persons) * 365 / config.days, 5
        ),
        "records": sum(v for k, v in counts.items() if k.startswith("source:")),
        "records_by_source": {
            k[7:]: v for k, v in sorted(counts.items()) if k.startswith("source:")
        },
        "records_by_defect": {
            (k[7:] or "none"): v for k, v in sorted(counts.items()) if k.startswith("defect:")
        },
        "records_by_kind": {k[5:]: v for k, v in sorted(counts.items()) if k.startswith("kind:")},
        "silent_source": dict(
            zip(
                ("source", "from", "to"),
                map(str, silent_source(config.seed, config.start, config.days)),
                strict=True,
            )
        ),
        "death_sources": sorted(DEATH_SOURCES),
    }
