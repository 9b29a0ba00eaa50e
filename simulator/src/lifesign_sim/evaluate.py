"""The evaluation: what the platform decided, compared with what really happened.

Inputs are a simulator output directory (``truth/persons.csv``, ``truth/records.csv``) and
a results directory written from the platform's topics (see :mod:`lifesign_sim.formats`).
The platform knows people only by ``pseudonymizer.person(id_number)``, so each truth person
is mapped to that pseudonym (the same key as the platform's is needed). Everything is
streamed: jsonl line by line, truth/records.csv in blocks split with numpy (rows that
matter, a defect or possible evidence about a suspended person, are then read one by one),
and while the state changes load, the records are scanned in a forked child process when
the file is big. Per-person state is kept in flat arrays: a province of a million
pensioners (5 million state changes, 20 million records) evaluates in about 30 s on two
cores, with about 1.2 GB for both processes together.

Definitions (the project's; "d" is a date, months are calendar months):

Statuses
    *Platform status* on d: the ``to_status`` of the StateChange with the highest
    ``version`` among the person's changes with ``as_of <= d``; none -> ``unknown``.
    *Truth status* on d, first that applies: ``dead`` (death_date <= d), ``imprisoned``
    (prison_start <= d < prison_end, or no end), ``not_started`` (benefit_start > d),
    else ``alive``.

``confusion`` / ``confusion_final``
    For every month end in [start, end] and for ``end``: counts of truth status (rows) x
    platform status (columns), every row and column present. ``timeline`` repeats, per
    date, the living (truth alive or not_started) whose platform status is pending or
    suspended.

Deaths (persons with death_date in [start, end])
    ``deaths_reported``: truth death_reported = 1 (a department published a record of the
    death within the period). ``deaths_suspended``: those with a
    SUSPEND command (by pseudonym) whose effective_date is in [death_date - 1 day, end]; an
    earlier suspension (e.g. a lapsed certification, R-7.9) is not a detection. The delay
    is effective_date - death_date of the first such SUSPEND, in days;
    ``death_to_suspension_days_p50`` / ``_p95`` are numpy's linear percentiles of the delays
    (null when no death was suspended). ``deaths_missed``: reported deaths with no such
    SUSPEND by ``end``.

Improper payments (every person who died on or before ``end``)
    A pension is paid on the 1st of each month for that month, from the benefit start on.
    The payment of a month whose 1st p lies in [start, end] and after the death date is
    improper when it was actually made: when the latest payment command effective on or
    before p is not a SUSPEND. Without commands that is every such month up to ``end``;
    with a detecting SUSPEND it is the months before its effective date. (A suspension
    before the death that is still in force means nothing was paid: no improper payment,
    though no detection either; a RESTORE after the death pays again, improperly.)
    ``improper_payment_yuan`` sums monthly_benefit over those months (2 decimals);
    ``improper_payment_months`` counts them. ``improper_payment_recovered_yuan`` is the
    part for people whose payments are suspended at ``end``: once the agency knows of the
    death it reclaims the overpayment from the estate; for deaths it never learnt of (or
    whose payments were restored) the money is lost.

Living suspended (SUSPEND commands effective in [start, end])
    A SUSPEND whose person on its effective date is truly alive (neither dead nor
    imprisoned; not_started counts as alive; a SUSPEND that counts as detecting the
    person's death, one day early at most, is not a living suspension) is *wrongful* when
    some record of truth/records.csv of kind ``genuine`` about the person, from a source
    the catalogue labels direct proof of life (unknown sources are not), that a correct
    platform would use (expected ``accept``, ``repair`` or ``flag``: a record a correct
    platform must reject, quarantine, drop, hold for review or leave unmatched gave it
    nothing to act on), was reported in the 15 months before the effective date (reported
    Beijing date in [effective_date - 15 months, effective_date)): the platform had direct
    evidence and should have kept the person eligible (R-6, R-7.5.1 a). Otherwise the suspension is
    correct procedure (R-7.9: nobody certified) but still a burden. A person counts once:
    in ``living_wrongly_suspended`` if any of their living suspensions was wrongful, else
    in ``living_suspended_without_evidence``. ``living_wrongly_suspended_person_days`` sums,
    over the wrongful suspensions, the days from the effective date to the first later
    RESTORE (or to ``end`` if none by then).

Certification
    Of the persons whose truth status on ``end`` is ``alive``, the latest StateChange with
    ``as_of <= end`` (by version) gives the last proof of life; ``certified_share_by_method``
    is the share per ``last_proof_method`` whose ``last_proof_of_life_at`` (Beijing date)
    is in [start, end], ``none`` for the others (no change, no proof, or an older one).
    ``big_data_certified_share`` is its ``big_data`` entry, ``big_data_aux_certified_share``
    its ``big_data_aux`` entry (certified by scoring's model from auxiliary behaviour).

Burden (R-7.6: people asked to come forward)
    The living-throughout are persons with no death on or before ``end`` and no prison term
    overlapping [start, end]. ``living_asked_to_act`` counts those whose platform status
    was pending or suspended at some time in [start, end]: a StateChange to one of them
    with as_of in [start, end], or that status already in force on ``start``. ``burden``
    breaks it down by age on ``end`` (bands under 60, 60-69, 70-79, 80-89, 90+), urban /
    rural and region (first 4 digits of residence_region), each with the living count
    and the share.

Defects (truth/records.csv column ``defect``; each record's own ``expected`` decides)
    reject: the record a DeadLetter in rejected.jsonl carries has its record id
    (``"record_id":"..."`` near the start of the letter's ``value``; else the letter's
    ``key`` is the record id). quarantine: it is the
    ``event.provenance.source_record_id`` of a QuarantinedEvent. drop_duplicate /
    review: listed in duplicates.jsonl / reviews.jsonl (reviews by record id or by event id,
    ``event_id_for(source, record_id)``; not evaluable when the file is absent). repair and
    accept: neither rejected nor quarantined. unmatched: not rejected. flag: listed in
    flagged.jsonl (quality's late and silent-source flags) and neither rejected nor
    quarantined (not evaluable when the file is absent). ``defect_recall`` is, per
    defect type, the share of its evaluable records handled as expected, null when none
    is evaluable (``notes`` say why). ``clean_records_quarantined_share``: of the records
    with no defect and kind genuine, the share rejected or quarantined. ``records``
    counts records per expected outcome.
"""

from __future__ import annotations

import base64
import csv
import multiprocessing
import re
from array import array
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from io import TextIOWrapper
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson
from numpy.typing import NDArray

from lifesign.catalogue import CATALOGUE, EvidenceClass, UnknownSource, get_source
from lifesign.certification import PaymentCommandKind, Status, local_date
from lifesign.events import event_id_for
from lifesign.identity import InvalidIdNumber, Pseudonymizer
from lifesign_sim.formats import (
    DUPLICATES_FILE,
    PAYMENT_COMMANDS_FILE,
    PERSONS_FILE,
    QUARANTINED_FILE,
    RECORDS_FILE,
    REJECTED_FILE,
    REVIEWS_FILE,
    STATE_CHANGES_FILE,
    Expected,
    RecordKind,
)

__all__ = [
    "AGE_BANDS",
    "CERTIFICATION_METHODS",
    "PLATFORM_STATUSES",
    "REQUIRED_KEYS",
    "TRUTH_STATUSES",
    "evaluate",
    "month_ends",
]

TRUTH_STATUSES: tuple[str, ...] = ("alive", "not_started", "imprisoned", "dead")
PLATFORM_STATUSES: tuple[str, ...] = (*(s.value for s in Status), "unknown")
CERTIFICATION_METHODS: tuple[str, ...] = (
    "big_data",
    "biometric",
    "home_visit",
    "manual",
    "big_data_aux",  # scoring's model (R-7.5.2.3), appended: earlier codes stay the same
)
AGE_BANDS: tuple[str, ...] = ("<60", "60-69", "70-79", "80-89", "90+")

#: Keys scripts rely on.
REQUIRED_KEYS: tuple[str, ...] = (
    "living_wrongly_suspended",
    "living_wrongly_suspended_person_days",
    "deaths",
    "deaths_suspended",
    "death_to_suspension_days_p50",
    "death_to_suspension_days_p95",
    "improper_payment_yuan",
    "improper_payment_recovered_yuan",
    "big_data_certified_share",
    "living_asked_to_act",
    "defect_recall",
    "clean_records_quarantined_share",
)

_ALIVE, _NOT_STARTED, _IMPRISONED, _DEAD = range(4)
_STATUS_CODE = {s: i for i, s in enumerate(PLATFORM_STATUSES)}
_UNKNOWN = _STATUS_CODE["unknown"]
_PENDING = _STATUS_CODE[Status.PENDING.value]
_SUSPENDED = _STATUS_CODE[Status.SUSPENDED.value]
_METHOD_CODE = {m: i + 1 for i, m in enumerate(CERTIFICATION_METHODS)}  # 0: none
_SUSPEND = PaymentCommandKind.SUSPEND.value
_RESTORE = PaymentCommandKind.RESTORE.value
#: A SUSPEND this long before the recorded death still counts as detecting it.
DETECTION_TOLERANCE = timedelta(days=1)
#: Direct evidence this recent should have kept a person eligible (12 valid + 3 pending).
EVIDENCE_MONTHS = 15
#: records.csv this large is scanned in a child process while the state changes load.
PARALLEL_RECORDS_BYTES = 64 << 20
_DIRECT_ALIVE = EvidenceClass.DIRECT_ALIVE
#: Results file (optional): {"record_id": ..., "rule_id": ...} per record quality flagged
#: (a late delivery, the backlog of a silent source), dumped from quality's API.
FLAGGED_FILE = "flagged.jsonl"
#: Expected outcomes of records a correct platform uses as evidence.
_USABLE = frozenset({Expected.ACCEPT.value, Expected.REPAIR.value, Expected.FLAG.value})


def evaluate(
    truth_dir: Path,
    results_dir: Path,
    *,
    pseudonymizer: Pseudonymizer,
    start: date,
    end: date,
) -> dict[str, Any]:
    """Compare a run's results with the simulator's truth; see the module docstring."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    notes: list[str] = []
    truth, results = Path(truth_dir), Path(results_dir)
    s_ord, e_ord = start.toordinal(), end.toordinal()
    persons = _load_persons(truth / PERSONS_FILE, pseudonymizer, notes)
    commands = _load_commands(results / PAYMENT_COMMANDS_FILE, persons.index, notes)
    outcomes = _load_outcomes(results, notes)
    candidates = _living_suspensions(persons, commands, s_ord, e_ord)
    # The two big inputs are independent: records in a child process, changes here.
    records_path = truth / RECORDS_FILE
    if records_path.stat().st_size >= PARALLEL_RECORDS_BYTES and _can_fork():
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            future = pool.submit(
                _scan_records, records_path, outcomes, _evidence_windows(candidates)
            )
            changes = _load_changes(results / STATE_CHANGES_FILE, persons.index, notes)
            scan = future.result()
    else:
        changes = _load_changes(results / STATE_CHANGES_FILE, persons.index, notes)
        scan = _scan_records(records_path, outcomes, _evidence_windows(candidates))

    metrics: dict[str, Any] = {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "persons": persons.n,
    }
    metrics.update(_confusion(persons, changes, start, end))
    metrics.update(_deaths(persons, commands, s_ord, e_ord))
    metrics.update(_improper_payments(persons, commands, start, end))
    metrics.update(_living_suspended(candidates, scan.evidence))
    metrics.update(_certification(persons, changes, s_ord, e_ord))
    metrics.update(_burden(persons, changes, start, end))
    metrics.update(_record_metrics(scan, notes))
    metrics["notes"] = notes
    return metrics


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


class _Ordinals(dict[str, int]):
    """Memo of ISO date (or a datetime's date part) -> ordinal; "" -> 0."""

    def __missing__(self, text: str) -> int:
        value = date.fromisoformat(text[:10]).toordinal() if text else 0
        self[text] = value
        return value


class _BeijingOrdinals(dict[str, int]):
    """Memo of ISO datetime -> ordinal of its Beijing date (naive means Beijing)."""

    def __missing__(self, text: str) -> int:
        if len(self) >= 1_000_000:
            self.clear()  # keeps the memo bounded; repeated values are usually close together
        moment = datetime.fromisoformat(text)
        day = moment.date() if moment.tzinfo is None else local_date(moment)
        self[text] = value = day.toordinal()
        return value


_ORDINAL = _Ordinals()
_BEIJING = _BeijingOrdinals()


def _ordinal(text: str) -> int:
    """The ordinal of an ISO date (or of the date part of a datetime); 0 when empty."""
    return _ORDINAL[text]


def _beijing_ordinal(text: str) -> int:
    """The Beijing date of an ISO datetime (naive means Beijing), as an ordinal."""
    return _BEIJING[text]


def _split_csv(lines: Iterator[str]) -> Iterator[list[str]]:
    """The rows of csv lines: a plain split for lines without quotes (fast), else csv."""
    for line in lines:
        if '"' not in line:
            yield line.rstrip("\r\n").split(",")
            continue
        while line.count('"') % 2:  # a quoted field goes on over the line break
            more = next(lines, "")
            if not more:
                break
            line += more
        yield next(csv.reader([line]))


def _csv_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """The given columns of each row of a csv file with a header, in that order."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = _split_csv(handle)
        header = next(rows, None)
        if header is None:
            return
        missing = [c for c in columns if c not in header]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}")
        pick = itemgetter(*(header.index(c) for c in columns))
        for row in _checked(rows, len(header), path):
            yield pick(row)


def _jsonl(path: Path, notes: list[str]) -> Iterator[dict[str, Any]]:
    """The JSON objects of a jsonl file; unparsable lines are counted in ``notes``."""
    bad = 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError:
                bad += 1
                continue
            if isinstance(value, dict):
                yield value
            else:
                bad += 1
    if bad:
        notes.append(f"{path.name}: {bad} lines are not JSON objects and were skipped")


_PERSON_FIELDS = (
    "person_id",
    "id_number",
    "birth_date",
    "monthly_benefit",
    "benefit_start",
    "residence_region",
    "urban",
    "death_date",
    "death_reported",
    "prison_start",
    "prison_end",
)


@dataclass
class _Persons:
    """Truth persons in flat arrays, indexed 0..n-1; ``index`` maps pseudonyms to indices."""

    index: dict[str, int]
    person_ids: list[str]
    birth: NDArray[np.int64]  # yyyymmdd
    cents: NDArray[np.int64]  # monthly benefit in fen
    benefit_start: NDArray[np.int64]  # ordinals, 0 = none
    death: NDArray[np.int64]
    death_reported: NDArray[np.bool_]
    prison_start: NDArray[np.int64]
    prison_end: NDArray[np.int64]
    urban: NDArray[np.bool_]
    region: NDArray[np.int64]  # index into region_names
    region_names: list[str]

    @property
    def n(self) -> int:
        return len(self.person_ids)

    def truth_on(self, day: int) -> NDArray[np.int8]:
        """Truth status codes of everyone on the ordinal ``day``."""
        status = np.full(self.n, _ALIVE, dtype=np.int8)
        status[self.benefit_start > day] = _NOT_STARTED
        serving = (
            (self.prison_start > 0)
            & (self.prison_start <= day)
            & ((self.prison_end == 0) | (day < self.prison_end))
        )
        status[serving] = _IMPRISONED
        status[(self.death > 0) & (self.death <= day)] = _DEAD
        return status

    def truly_alive_on(self, i: int, day: int) -> bool:
        """Neither dead nor imprisoned on ``day`` (not_started counts as alive)."""
        if 0 < self.death[i] <= day:
            return False
        begun = 0 < self.prison_start[i] <= day
        return not (begun and (self.prison_end[i] == 0 or day < self.prison_end[i]))


def _load_persons(path: Path, pseudonymizer: Pseudonymizer, notes: list[str]) -> _Persons:
    index: dict[str, int] = {}
    person_ids: list[str] = []
    birth, cents, benefit, death = array("q"), array("q"), array("q"), array("q")
    prison_start, prison_end, region = array("q"), array("q"), array("q")
    reported, urban = array("b"), array("b")
    regions: dict[str, int] = {}
    day = _ORDINAL
    invalid = 0
    for row in _csv_rows(path, _PERSON_FIELDS):
        pid, id_number, born, monthly, begins, residence, town, died, known, jailed, freed = row
        try:
            pseudonym = pseudonymizer.person(id_number)
        except InvalidIdNumber:
            invalid += 1
            continue
        index[pseudonym] = len(person_ids)
        person_ids.append(pid)
        born = born or f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
        birth.append(int(born[:10].replace("-", "")))
        cents.append(round(float(monthly or 0) * 100))
        benefit.append(day[begins])
        death.append(day[died])
        prison_start.append(day[jailed])
        prison_end.append(day[freed])
        reported.append(known == "1")
        urban.append(town == "1")
        code = regions.get(residence[:4])
        if code is None:
            code = regions[residence[:4]] = len(regions)
        region.append(code)
    if invalid:
        notes.append(f"{PERSONS_FILE}: {invalid} persons with an invalid id number were skipped")
    return _Persons(
        index=index,
        person_ids=person_ids,
        birth=_int64(birth),
        cents=_int64(cents),
        benefit_start=_int64(benefit),
        death=_int64(death),
        death_reported=np.array(reported, dtype=bool),
        prison_start=_int64(prison_start),
        prison_end=_int64(prison_end),
        urban=np.array(urban, dtype=bool),
        region=_int64(region),
        region_names=list(regions),
    )


def _int64(values: array[int]) -> NDArray[np.int64]:
    """An int64 numpy array of an array("q") (a copy: the array can be freed)."""
    return np.frombuffer(values, dtype=np.int64).copy() if values else np.zeros(0, np.int64)


@dataclass
class _Changes:
    """State changes sorted by (person, version), in flat arrays."""

    person: NDArray[np.int64]
    as_of: NDArray[np.int64]
    status: NDArray[np.int8]
    method: NDArray[np.int8]
    proof: NDArray[np.int64]  # Beijing date ordinal of last_proof_of_life_at, 0 = none

    def latest(self, day: int, n: int) -> NDArray[np.int64]:
        """Per person, the row of the highest-version change with as_of <= day, or -1."""
        rows = np.flatnonzero(self.as_of <= day)
        who = self.person[rows]
        last = np.ones(len(rows), dtype=bool)
        last[:-1] = who[:-1] != who[1:]
        out = np.full(n, -1, dtype=np.int64)
        out[who[last]] = rows[last]
        return out

    def status_on(self, day: int, n: int) -> NDArray[np.int8]:
        rows = self.latest(day, n)
        status = np.full(n, _UNKNOWN, dtype=np.int8)
        known = rows >= 0
        status[known] = self.status[rows[known]]
        return status


def _load_changes(path: Path, index: dict[str, int], notes: list[str]) -> _Changes:
    # Three appends a line (the hot loop of the evaluation): person; version and as_of
    # packed as version << 32 | as_of; proof << 8 | status << 4 | method.
    person, when, what = array("q"), array("q"), array("q")
    unknown = bad = 0
    if not path.exists():
        notes.append(f"{STATE_CHANGES_FILE} is absent: every platform status is unknown")
        return _changes(person, when, what)
    find, day, beijing = index.get, _ORDINAL, _BEIJING
    statuses, methods, loads = _STATUS_CODE, _METHOD_CODE, orjson.loads
    with path.open("rb") as handle:
        for line in handle:
            try:
                change = loads(line)
                i = find(change["pseudonym"])
                if i is None:
                    unknown += 1
                    continue
                at = change.get("last_proof_of_life_at")
                packed_when = (int(change["version"]) << 32) | day[change["as_of"]]
                packed_what = (
                    ((beijing[at] if at else 0) << 8)
                    | (statuses.get(change["to_status"], _UNKNOWN) << 4)
                    | methods.get(change.get("last_proof_method") or "", 0)
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                bad += line.strip() != b""
                continue
            person.append(i)
            when.append(packed_when)
            what.append(packed_what)
    if bad:
        notes.append(f"{STATE_CHANGES_FILE}: {bad} lines are not state changes and were skipped")
    if unknown:
        notes.append(f"{STATE_CHANGES_FILE}: {unknown} changes of unknown persons ignored")
    return _changes(person, when, what)


def _changes(person: array[int], when: array[int], what: array[int]) -> _Changes:
    p, w, x = _int64(person), _int64(when), _int64(what)
    version = w >> 32
    order = np.lexsort((version, p))  # by person, then version; stable for equal versions
    w, x = w[order], x[order]
    return _Changes(
        person=p[order],
        as_of=w & 0xFFFFFFFF,
        status=((x >> 4) & 0xF).astype(np.int8),
        method=(x & 0xF).astype(np.int8),
        proof=x >> 8,
    )


#: Per person index: (effective ordinal, is_suspend) in order of effect (file order on ties).
_Commands = dict[int, list[tuple[int, bool]]]


def _load_commands(path: Path, index: dict[str, int], notes: list[str]) -> _Commands:
    seen: set[str] = set()
    raw: dict[int, list[tuple[int, int, bool]]] = {}
    unknown = 0
    if not path.exists():
        notes.append(f"{PAYMENT_COMMANDS_FILE} is absent: nobody was ever suspended")
        return {}
    for seq, command in enumerate(_jsonl(path, notes)):
        command_id = str(command.get("command_id", seq))
        if command_id in seen:
            continue  # a redelivered command (at-least-once delivery)
        seen.add(command_id)
        kind = command.get("kind")
        if kind not in (_SUSPEND, _RESTORE):
            continue
        i = index.get(command.get("pseudonym", ""))
        if i is None:
            unknown += 1
            continue
        raw.setdefault(i, []).append((_ordinal(command["effective_date"]), seq, kind == _SUSPEND))
    if unknown:
        notes.append(f"{PAYMENT_COMMANDS_FILE}: {unknown} commands of unknown persons ignored")
    return {i: [(day, suspend) for day, _, suspend in sorted(cs)] for i, cs in raw.items()}


@dataclass
class _Outcomes:
    rejected: set[str]
    quarantined: set[str]
    duplicates: set[str] | None
    reviews: set[str] | None
    flagged: set[str] | None = None


def _load_outcomes(results: Path, notes: list[str]) -> _Outcomes:
    rejected: set[str] = set()
    quarantined: set[str] = set()
    if (results / REJECTED_FILE).exists():
        for letter in _jsonl(results / REJECTED_FILE, notes):
            record_id = _rejected_record_id(letter)
            if record_id:
                rejected.add(record_id)
    else:
        notes.append(f"{REJECTED_FILE} is absent: no record counts as rejected")
    if (results / QUARANTINED_FILE).exists():
        for held in _jsonl(results / QUARANTINED_FILE, notes):
            try:
                quarantined.add(str(held["event"]["provenance"]["source_record_id"]))
            except (KeyError, TypeError):
                continue
    else:
        notes.append(f"{QUARANTINED_FILE} is absent: no record counts as quarantined")
    return _Outcomes(
        rejected,
        quarantined,
        _record_ids(results / DUPLICATES_FILE, notes),
        _review_ids(results / REVIEWS_FILE, notes),
        _record_ids(results / FLAGGED_FILE, notes),
    )


_RECORD_ID = re.compile(r'"record_id"\s*:\s*"([^"]+)"')


def _rejected_record_id(letter: dict[str, Any]) -> str | None:
    """The department's record id of a dead letter: read from the record it carries (a
    feed message is keyed by its person, not its record); else the letter's key."""
    value = letter.get("value") or ""
    if not value and letter.get("value_base64"):
        value = base64.b64decode(letter["value_base64"])[:256].decode("utf-8", "replace")
    if isinstance(value, str):
        found = _RECORD_ID.search(value, 0, 256)
        if found is not None:
            return found.group(1)
    key = letter.get("key")
    return str(key) if key else None


def _review_ids(path: Path, notes: list[str]) -> set[str] | None:
    """Record ids, or event ids (the matcher knows events; an event id is derived from the
    source and record id, see ``event_id_for``), of records held for name review."""
    if not path.exists():
        return None
    return {
        str(r.get("record_id") or r.get("event_id"))
        for r in _jsonl(path, notes)
        if r.get("record_id") or r.get("event_id")
    }


def _record_ids(path: Path, notes: list[str]) -> set[str] | None:
    if not path.exists():
        return None
    return {str(r["record_id"]) for r in _jsonl(path, notes) if r.get("record_id")}


# ---------------------------------------------------------------------------
# Statuses: confusion matrices, timeline
# ---------------------------------------------------------------------------


def month_ends(start: date, end: date) -> list[date]:
    """Every month end in [start, end], then ``end`` itself if it is not one."""
    days: list[date] = []
    year, month = start.year, start.month
    while True:
        first_next = date(year + month // 12, month % 12 + 1, 1)
        last = first_next - timedelta(days=1)
        if last > end:
            break
        if last >= start:
            days.append(last)
        year, month = first_next.year, first_next.month
    if not days or days[-1] != end:
        days.append(end)
    return days


def _matrix(truth: NDArray[np.int8], platform: NDArray[np.int8]) -> dict[str, dict[str, int]]:
    width = len(PLATFORM_STATUSES)
    counts = np.bincount(
        truth.astype(np.int64) * width + platform, minlength=len(TRUTH_STATUSES) * width
    ).reshape(len(TRUTH_STATUSES), width)
    return {
        t: {p: int(counts[r, c]) for c, p in enumerate(PLATFORM_STATUSES)}
        for r, t in enumerate(TRUTH_STATUSES)
    }


def _confusion(persons: _Persons, changes: _Changes, start: date, end: date) -> dict[str, Any]:
    confusion: dict[str, dict[str, dict[str, int]]] = {}
    timeline: list[dict[str, Any]] = []
    for day in month_ends(start, end):
        truth = persons.truth_on(day.toordinal())
        platform = changes.status_on(day.toordinal(), persons.n)
        matrix = _matrix(truth, platform)
        confusion[day.isoformat()] = matrix
        living = [matrix["alive"], matrix["not_started"]]
        timeline.append(
            {
                "date": day.isoformat(),
                "living": sum(sum(row.values()) for row in living),
                "living_pending": sum(row[Status.PENDING.value] for row in living),
                "living_suspended": sum(row[Status.SUSPENDED.value] for row in living),
            }
        )
    return {
        "confusion": confusion,
        "confusion_final": confusion[end.isoformat()],
        "timeline": timeline,
    }


# ---------------------------------------------------------------------------
# Deaths and improper payments
# ---------------------------------------------------------------------------


def _deaths(persons: _Persons, commands: _Commands, s_ord: int, e_ord: int) -> dict[str, Any]:
    tolerance = DETECTION_TOLERANCE.days
    dead = np.flatnonzero((persons.death >= s_ord) & (persons.death <= e_ord))
    delays: list[int] = []
    missed = 0
    for i in dead.tolist():
        died = int(persons.death[i])
        detected = next(
            (
                day
                for day, suspend in commands.get(i, ())
                if suspend and died - tolerance <= day <= e_ord
            ),
            None,
        )
        if detected is not None:
            delays.append(detected - died)
        elif persons.death_reported[i]:
            missed += 1
    p50: float | None = None
    p95: float | None = None
    if delays:
        p50, p95 = (float(x) for x in np.percentile(np.array(delays), [50, 95]))
    return {
        "deaths": len(dead),
        "deaths_reported": int(persons.death_reported[dead].sum()),
        "deaths_suspended": len(delays),
        "deaths_missed": missed,
        "death_to_suspension_days_p50": p50,
        "death_to_suspension_days_p95": p95,
        "death_to_suspension_days_mean": float(np.mean(delays)) if delays else None,
    }


def _month_firsts(start: date, end: date) -> list[int]:
    firsts: list[int] = []
    day = date(start.year, start.month, 1)
    while day <= end:
        if day >= start:
            firsts.append(day.toordinal())
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return firsts


def _suspended_on(history: list[tuple[int, bool]], day: int) -> bool:
    """Whether the latest command effective on or before ``day`` is a SUSPEND."""
    state = False
    for effective, suspend in history:
        if effective > day:
            break
        state = suspend
    return state


def _improper_payments(
    persons: _Persons, commands: _Commands, start: date, end: date
) -> dict[str, Any]:
    firsts = _month_firsts(start, end)
    e_ord = end.toordinal()
    total = recovered = months = 0
    for i in np.flatnonzero((persons.death > 0) & (persons.death <= e_ord)).tolist():
        died, begins = int(persons.death[i]), int(persons.benefit_start[i])
        history = commands.get(i, [])
        paid = [p for p in firsts if p > died and p >= begins and not _suspended_on(history, p)]
        if not paid:
            continue
        amount = len(paid) * int(persons.cents[i])
        months += len(paid)
        total += amount
        if _suspended_on(history, e_ord):
            recovered += amount
    return {
        "improper_payment_yuan": round(total / 100, 2),
        "improper_payment_recovered_yuan": round(recovered / 100, 2),
        "improper_payment_months": months,
    }


# ---------------------------------------------------------------------------
# Living people suspended, and the records pass
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Suspension:
    """A SUSPEND of a truly living person."""

    effective: int
    days: int  # to the first later RESTORE, or to the end
    since: int  # the earliest reported date of evidence that counts


#: person_id -> their living suspensions, in order (person_id: records name people by it).
_Candidates = dict[str, list[_Suspension]]


def _months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day if shorter)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    first_next = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    last_day = (first_next - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last_day))


def _living_suspensions(
    persons: _Persons, commands: _Commands, s_ord: int, e_ord: int
) -> _Candidates:
    candidates: _Candidates = {}
    for i, history in commands.items():
        for k, (effective, suspend) in enumerate(history):
            if not (suspend and s_ord <= effective <= e_ord):
                continue
            if not persons.truly_alive_on(i, effective):
                continue
            died = int(persons.death[i])
            if died and effective >= died - DETECTION_TOLERANCE.days:
                continue  # the detection of a death recorded a day early, not a living person
            restored = next((day for day, s in history[k + 1 :] if not s), None)
            until = e_ord if restored is None else min(restored, e_ord)
            since = _months_before(date.fromordinal(effective), EVIDENCE_MONTHS).toordinal()
            suspension = _Suspension(effective, max(until - effective, 0), since)
            candidates.setdefault(persons.person_ids[i], []).append(suspension)
    return candidates


def _evidence_windows(candidates: _Candidates) -> dict[str, tuple[tuple[int, int], ...]]:
    """What the records pass needs: per person, [since, effective) of each suspension."""
    return {
        pid: tuple((s.since, s.effective) for s in suspensions)
        for pid, suspensions in candidates.items()
    }


def _living_suspended(candidates: _Candidates, evidence: set[tuple[str, int]]) -> dict[str, Any]:
    wrongly = without = days = 0
    for pid, suspensions in candidates.items():
        wrongful = [s for k, s in enumerate(suspensions) if (pid, k) in evidence]
        if wrongful:
            wrongly += 1
            days += sum(s.days for s in wrongful)
        else:
            without += 1
    return {
        "living_wrongly_suspended": wrongly,
        "living_wrongly_suspended_person_days": days,
        "living_suspended_without_evidence": without,
    }


_RECORD_FIELDS = (
    "record_id",
    "source",
    "person_id",
    "reported_at",
    "kind",
    "defect",
    "expected",
)
#: Bytes of records.csv read at a time by the vectorised scan.
_BLOCK_BYTES = 16 << 20


@dataclass
class _RecordScan:
    """What one pass over truth/records.csv found (picklable: it may come from a child)."""

    total: int = 0
    by_expected: dict[str, int] = field(default_factory=dict)
    #: defect -> [records, evaluable, handled as expected]
    defects: dict[str, list[int]] = field(default_factory=dict)
    #: (defect, expected) -> records the results cannot judge
    unevaluable: dict[tuple[str, str], int] = field(default_factory=dict)
    clean: int = 0
    clean_held: int = 0
    #: (person_id, index of the suspension) with direct evidence in its window
    evidence: set[tuple[str, int]] = field(default_factory=set)


class _RecordScanner:
    """The records pass. Bulk counts are vectorised per block of the file (numpy over the
    raw bytes); the few rows that need more (a defect, or possible evidence about a
    suspended person) go through :meth:`special`. A block numpy cannot split safely
    (quotes, a wrong number of fields) switches the rest of the file to the csv path."""

    def __init__(
        self, outcomes: _Outcomes, windows: dict[str, tuple[tuple[int, int], ...]]
    ) -> None:
        self.scan = _RecordScan()
        self.outcomes = outcomes
        self.windows = windows
        self.held = outcomes.rejected | outcomes.quarantined
        self.held_filter = _HashFilter(self.held)
        self.candidate_filter = _HashFilter(windows)
        self.direct_filter = _HashFilter(
            code for code, source in CATALOGUE.items() if source.evidence is _DIRECT_ALIVE
        )
        self.usable = np.array(sorted(v.encode() for v in _USABLE))
        self.direct: dict[str, bool] = {}

    # -- per row (csv path, and special rows of the vectorised path) ------------------

    def count(self, record_id: str, kind: str, defect: str, expected: str) -> None:
        scan = self.scan
        scan.total += 1
        scan.by_expected[expected] = scan.by_expected.get(expected, 0) + 1
        if not defect and kind == RecordKind.GENUINE:
            scan.clean += 1
            scan.clean_held += record_id in self.held

    def special(
        self,
        record_id: str,
        source: str,
        person_id: str,
        reported_at: str,
        kind: str,
        defect: str,
        expected: str,
    ) -> None:
        scan = self.scan
        if defect:
            counts = scan.defects.setdefault(defect, [0, 0, 0])
            counts[0] += 1
            handled = _handled(expected, record_id, self.outcomes, source)
            if handled is None:
                key = (defect, expected)
                scan.unevaluable[key] = scan.unevaluable.get(key, 0) + 1
            else:
                counts[1] += 1
                counts[2] += handled
        suspensions = self.windows.get(person_id)
        if suspensions is None or kind != RecordKind.GENUINE or expected not in _USABLE:
            return
        if source not in self.direct:
            self.direct[source] = _is_direct_alive(source)
        if self.direct[source] and reported_at:
            reported = _beijing_ordinal(reported_at)
            for k, (since, effective) in enumerate(suspensions):
                if since <= reported < effective:
                    scan.evidence.add((person_id, k))

    def rows(self, rows: Iterator[tuple[str, ...]]) -> None:
        for record_id, source, person_id, reported_at, kind, defect, expected in rows:
            self.count(record_id, kind, defect, expected)
            if defect or person_id in self.windows:
                self.special(record_id, source, person_id, reported_at, kind, defect, expected)

    # -- vectorised ---------------------------------------------------------------

    def block(self, data: bytes, width: int, positions: list[int]) -> bool:
        """Scan whole lines; False (nothing counted) when numpy cannot split them."""
        raw = np.frombuffer(data, dtype=np.uint8)
        newlines = np.flatnonzero(raw == 10)
        commas = np.flatnonzero(raw == 44)
        n = len(newlines)
        if n == 0 or b'"' in data or len(commas) != n * (width - 1):
            return False
        cuts = commas.reshape(n, width - 1)
        starts = np.concatenate(([0], newlines[:-1] + 1))
        # Every row's share of the commas lies within the row: then each has width - 1.
        if not ((cuts[:, 0] >= starts).all() and (cuts[:, -1] < newlines).all()):
            return False
        ends = newlines - (raw[np.maximum(newlines - 1, 0)] == 13)

        def bounds(column: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
            begin = starts if column == 0 else cuts[:, column - 1] + 1
            return begin, (cuts[:, column] if column < width - 1 else ends)

        rid, source, pid, reported, kind, defect, expected = (bounds(c) for c in positions)
        expected_values = _fixed(raw, *expected)
        has_defect = defect[1] > defect[0]
        genuine = _fixed(raw, *kind) == RecordKind.GENUINE.value.encode()
        clean = genuine & ~has_defect
        scan = self.scan
        scan.total += n
        for value, count in zip(*np.unique(expected_values, return_counts=True), strict=True):
            key = bytes(value).decode()
            scan.by_expected[key] = scan.by_expected.get(key, 0) + int(count)
        scan.clean += int(clean.sum())
        # Hash filters pick out the few rows that may matter; a Python check on them is exact.
        if self.held:
            rows = np.flatnonzero(clean)
            rows = rows[self.held_filter.maybe(_hashes(raw, rid[0][rows], rid[1][rows]))]
            for r in rows.tolist():
                scan.clean_held += data[rid[0][r] : rid[1][r]].decode() in self.held
        special = has_defect
        if self.windows:
            rows = np.flatnonzero(genuine & np.isin(expected_values, self.usable))
            rows = rows[self.candidate_filter.maybe(_hashes(raw, pid[0][rows], pid[1][rows]))]
            rows = rows[self.direct_filter.maybe(_hashes(raw, source[0][rows], source[1][rows]))]
            special = special.copy()
            special[rows] = True
        fields = (rid, source, pid, reported, kind, defect, expected)
        for r in np.flatnonzero(special).tolist():
            self.special(*(data[b[0][r] : b[1][r]].decode() for b in fields))
        return True


def _fixed(raw: NDArray[np.uint8], begin: NDArray[np.int64], end: NDArray[np.int64]) -> Any:
    """The fields [begin, end) of ``raw`` as a fixed-width bytes array (NUL padded)."""
    lengths = end - begin
    width = max(int(lengths.max(initial=0)), 1)
    offsets = np.arange(width)
    chars = raw[np.minimum(begin[:, None] + offsets, len(raw) - 1)]
    chars[offsets >= lengths[:, None]] = 0
    return np.ascontiguousarray(chars).view(f"S{width}").ravel()


#: Random odd multipliers per byte position: a field's hash is sum(byte * multiplier) + length
#: (mod 2**64). Equal fields hash equal; unequal ones collide with negligible probability, and
#: a collision only sends a row to an exact check.
_HASH_BYTES = 64
_MULTIPLIERS = np.random.default_rng(7).integers(1, 2**62, _HASH_BYTES, dtype=np.uint64) * 2 + 1


def _hashes(
    raw: NDArray[np.uint8], begin: NDArray[np.int64], end: NDArray[np.int64]
) -> NDArray[np.uint64]:
    """The hashes of the fields [begin, end) of ``raw`` (of their first 64 bytes and length)."""
    lengths = end - begin
    width = min(max(int(lengths.max(initial=0)), 1), _HASH_BYTES)
    offsets = np.arange(width)
    chars = raw[np.minimum(begin[:, None] + offsets, len(raw) - 1)].astype(np.uint64)
    chars[offsets >= lengths[:, None]] = 0
    mixed: NDArray[np.uint64] = (chars * _MULTIPLIERS[:width]).sum(axis=1, dtype=np.uint64)
    return mixed + lengths.astype(np.uint64)


class _HashFilter:
    """A one-hash Bloom filter of strings over :func:`_hashes`: no false negatives, and false
    positives at about (number of strings / 2**25), which an exact check then drops."""

    BITS = 25

    def __init__(self, values: Iterable[str]) -> None:
        self.table = np.zeros(1 << self.BITS, dtype=bool)
        encoded = [v.encode() for v in values]
        if encoded:
            raw = np.frombuffer(b"".join(encoded) + b"\0", dtype=np.uint8)
            lengths = np.array([len(e) for e in encoded], dtype=np.int64)
            ends = np.cumsum(lengths)
            self.table[self._slots(_hashes(raw, ends - lengths, ends))] = True

    def _slots(self, hashes: NDArray[np.uint64]) -> NDArray[np.uint64]:
        return hashes >> np.uint64(64 - self.BITS)  # the top bits mix every byte

    def maybe(self, hashes: NDArray[np.uint64]) -> NDArray[np.bool_]:
        found: NDArray[np.bool_] = self.table[self._slots(hashes)]
        return found


def _scan_records(
    path: Path, outcomes: _Outcomes, windows: dict[str, tuple[tuple[int, int], ...]]
) -> _RecordScan:
    """One streaming pass over truth/records.csv (the biggest input)."""
    scanner = _RecordScanner(outcomes, windows)
    with path.open("rb") as handle:
        header_line = handle.readline().decode("utf-8")
        if not header_line.strip():
            return scanner.scan
        header = next(csv.reader([header_line]))
        missing = [c for c in _RECORD_FIELDS if c not in header]
        if missing:
            raise ValueError(f"{path}: missing columns {missing}")
        positions = [header.index(c) for c in _RECORD_FIELDS]
        pending = b""
        width = len(header)
        while True:
            data = handle.read(_BLOCK_BYTES)
            joined = pending + data
            if not joined:
                break
            cut = joined.rfind(b"\n") if data else len(joined) - 1
            if cut < 0:
                pending = joined
                continue
            whole, pending = joined[: cut + 1], joined[cut + 1 :]
            if whole and not whole.isspace():
                if not whole.endswith(b"\n"):
                    whole += b"\n"  # the last line of a file without a final newline
                if not scanner.block(whole, width, positions):
                    # Quotes or ragged rows: the csv path for the rest of the file.
                    lines = _text_lines(whole + pending, handle)
                    pick = itemgetter(*positions)
                    scanner.rows(pick(row) for row in _checked(_split_csv(lines), width, path))
                    break
            if not data:
                break
    return scanner.scan


def _text_lines(head: bytes, handle: BinaryIO) -> Iterator[str]:
    """The lines of ``head`` then of the rest of ``handle`` (``head`` may end mid-line)."""
    text = TextIOWrapper(handle, encoding="utf-8", newline="")
    pieces = head.decode("utf-8").split("\n")
    tail = pieces.pop()  # after the last newline: the start of a line the handle goes on with
    for piece in pieces:
        yield piece + "\n"
    rest = tail + next(text, "")
    if rest:
        yield rest
    yield from text


def _checked(rows: Iterator[list[str]], width: int, path: Path) -> Iterator[list[str]]:
    for row in rows:
        if len(row) == width:
            yield row
        elif row != [""]:
            raise ValueError(f"{path}: a row has {len(row)} fields, not {width}")


def _record_metrics(scan: _RecordScan, notes: list[str]) -> dict[str, Any]:
    recall: dict[str, float | None] = {}
    for defect, (count, evaluable, handled) in sorted(scan.defects.items()):
        recall[defect] = handled / evaluable if evaluable else None
        skipped = {e: c for (d, e), c in scan.unevaluable.items() if d == defect}
        if skipped:
            why = "; ".join(
                f"{c} expected {e}: {_why_not_evaluable(e)}" for e, c in skipped.items()
            )
            scope = "recall is null" if not evaluable else f"recall over {evaluable}"
            notes.append(f"defect {defect}: {scope} of {count} records ({why})")
    return {
        "defect_recall": recall,
        "defect_handling": {
            d: {"records": c[0], "evaluable": c[1], "handled": c[2]}
            for d, c in sorted(scan.defects.items())
        },
        "clean_records_quarantined_share": scan.clean_held / scan.clean if scan.clean else None,
        "records": {
            "total": scan.total,
            "by_expected": dict(sorted(scan.by_expected.items())),
            "clean_genuine": scan.clean,
            "clean_genuine_rejected_or_quarantined": scan.clean_held,
        },
    }


def _handled(expected: str, record_id: str, outcomes: _Outcomes, source: str = "") -> bool | None:
    """Whether a record was handled as expected; None when the results cannot tell."""
    rejected = record_id in outcomes.rejected
    quarantined = record_id in outcomes.quarantined
    if expected == Expected.REJECT:
        return rejected
    if expected == Expected.QUARANTINE:
        return quarantined
    if expected in (Expected.REPAIR, Expected.ACCEPT):
        return not rejected and not quarantined
    if expected == Expected.UNMATCHED:
        return not rejected
    if expected == Expected.DROP_DUPLICATE:
        return None if outcomes.duplicates is None else record_id in outcomes.duplicates
    if expected == Expected.REVIEW:
        if outcomes.reviews is None:
            return None
        return record_id in outcomes.reviews or _event_id(source, record_id) in outcomes.reviews
    if expected == Expected.FLAG:
        # Flagged, and still used: a late or held-back record is evidence all the same.
        if outcomes.flagged is None:
            return None
        return record_id in outcomes.flagged and not rejected and not quarantined
    return None  # an expected outcome this evaluation does not know


def _event_id(source: str, record_id: str) -> str:
    return str(event_id_for(source, record_id)) if source else ""


def _why_not_evaluable(expected: str) -> str:
    if expected == Expected.DROP_DUPLICATE:
        return f"{DUPLICATES_FILE} is absent, so the results do not say what was dropped"
    if expected == Expected.REVIEW:
        return f"{REVIEWS_FILE} is absent, so the results do not say what was held for review"
    if expected == Expected.FLAG:
        return f"{FLAGGED_FILE} is absent, so the results do not say what quality flagged"
    return "unknown expected outcome"


def _is_direct_alive(source: str) -> bool:
    try:
        return get_source(source).evidence is _DIRECT_ALIVE
    except UnknownSource:
        return False


# ---------------------------------------------------------------------------
# Certification shares and burden
# ---------------------------------------------------------------------------


def _certification(persons: _Persons, changes: _Changes, s_ord: int, e_ord: int) -> dict[str, Any]:
    alive = np.flatnonzero(persons.truth_on(e_ord) == _ALIVE)
    rows = changes.latest(e_ord, persons.n)[alive]
    method = np.zeros(len(alive), dtype=np.int8)
    known = rows >= 0
    proof = changes.proof[rows[known]]
    in_period = (proof >= s_ord) & (proof <= e_ord)
    method[np.flatnonzero(known)[in_period]] = changes.method[rows[known]][in_period]
    counts = np.bincount(method, minlength=len(CERTIFICATION_METHODS) + 1)
    n = len(alive)

    def share(count: int) -> float | None:
        return count / n if n else None

    by_method = {m: share(int(counts[code])) for m, code in _METHOD_CODE.items()}
    by_method["none"] = share(int(counts[0]))
    return {
        "big_data_certified_share": by_method["big_data"],
        "big_data_aux_certified_share": by_method["big_data_aux"],
        "certified_share_by_method": by_method,
        "alive_at_end": n,
    }


def _burden(persons: _Persons, changes: _Changes, start: date, end: date) -> dict[str, Any]:
    s_ord, e_ord = start.toordinal(), end.toordinal()
    dead = (persons.death > 0) & (persons.death <= e_ord)
    prison = (
        (persons.prison_start > 0)
        & (persons.prison_start <= e_ord)
        & ((persons.prison_end == 0) | (persons.prison_end > s_ord))
    )
    living = ~dead & ~prison
    asking = np.isin(changes.status, np.array([_PENDING, _SUSPENDED], dtype=np.int8))
    asked = np.zeros(persons.n, dtype=bool)
    asked[changes.person[asking & (changes.as_of >= s_ord) & (changes.as_of <= e_ord)]] = True
    carried = changes.status_on(s_ord, persons.n)
    asked |= (carried == _PENDING) | (carried == _SUSPENDED)
    asked &= living

    end_int = end.year * 10000 + end.month * 100 + end.day
    ages = (end_int - persons.birth) // 10000
    band_index = np.clip((ages - 50) // 10, 0, len(AGE_BANDS) - 1)  # <60 -> 0, 90+ -> 4

    def breakdown(groups: NDArray[np.int64], names: list[str]) -> dict[str, dict[str, Any]]:
        size = len(names)
        n_living = np.bincount(groups[living], minlength=size)
        n_asked = np.bincount(groups[asked], minlength=size)
        return {
            name: {
                "living": int(n_living[g]),
                "asked_to_act": int(n_asked[g]),
                "share": float(n_asked[g] / n_living[g]) if n_living[g] else None,
            }
            for g, name in enumerate(names)
            if n_living[g] or name in AGE_BANDS or name in ("urban", "rural")
        }

    total_living = int(living.sum())
    total_asked = int(asked.sum())
    by_region = breakdown(persons.region, persons.region_names)
    return {
        "living_asked_to_act": total_asked,
        "burden": {
            "living": total_living,
            "asked_to_act": total_asked,
            "share": total_asked / total_living if total_living else None,
            "by_age_band": breakdown(band_index.astype(np.int64), list(AGE_BANDS)),
            "by_area": breakdown(
                np.where(persons.urban, 0, 1).astype(np.int64), ["urban", "rural"]
            ),
            "by_region": dict(sorted(by_region.items())),
        },
    }
