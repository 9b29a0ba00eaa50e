"""The evaluation against a tiny hand-made province whose every metric is known."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from lifesign.bus import DeadLetter
from lifesign.catalogue import CertificationMethod
from lifesign.certification import PaymentCommand, PaymentCommandKind, StateChange, Status
from lifesign.events import Channel, LifeEvent, PersonRef, Provenance, event_id_for
from lifesign.identity import Pseudonymizer, key_from_text, make_id_number
from lifesign_quality.schemas import QuarantinedEvent, RuleFailure
from lifesign_sim.evaluate import FLAGGED_FILE, REQUIRED_KEYS, evaluate, month_ends
from lifesign_sim.formats import (
    DUPLICATES_FILE,
    PAYMENT_COMMANDS_FILE,
    PERSON_COLUMNS,
    PERSONS_FILE,
    QUARANTINED_FILE,
    RECORD_COLUMNS,
    RECORDS_FILE,
    REJECTED_FILE,
    REVIEWS_FILE,
    STATE_CHANGES_FILE,
)
from lifesign_sim.report import render_html

START, END = date(2024, 1, 1), date(2024, 6, 30)
PSEUDONYMIZER = Pseudonymizer(key_from_text("test"))
NOW = datetime(2024, 7, 1, tzinfo=UTC)

#: person_id -> (id number, overrides of the persons.csv defaults)
PEOPLE: dict[str, dict[str, str]] = {
    # Alive, bank-card record 2 months before a SUSPEND, restored 15 days later.
    "P1": {"birth_date": "1950-03-01", "urban": "1"},
    # Alive, never certifies, suspended on 2024-04-01 and never restored.
    "P2": {"birth_date": "1940-05-05", "urban": "0", "never_certifies": "1"},
    # Died 2024-02-10, reported, never suspended: Mar..Jun paid improperly.
    "P3": {
        "birth_date": "1935-01-01",
        "death_date": "2024-02-10",
        "death_reported": "1",
        "monthly_benefit": "3000.00",
    },
    # Died 2024-03-25, suspended 10 days later: April paid improperly, recovered.
    "P4": {
        "birth_date": "1936-01-01",
        "death_date": "2024-03-25",
        "death_reported": "1",
        "monthly_benefit": "2000.00",
    },
    # Suspended before the period (lapsed), died 2024-05-10: not a detection, nothing paid.
    "P5": {"birth_date": "1937-01-01", "death_date": "2024-05-10", "death_reported": "1"},
    # Died 2024-05-10, suspended a day early: a detection (delay -1), not a living suspension.
    "P6": {"birth_date": "1938-01-01", "death_date": "2024-05-10", "death_reported": "1"},
    # In prison from 2024-02-01, suspended: not a living suspension.
    "P7": {"birth_date": "1952-01-01", "prison_start": "2024-02-01"},
    # New pensioner whose benefit starts after the period; the platform knows nothing.
    "P8": {"birth_date": "1964-07-01", "benefit_start": "2024-08-01", "urban": "1"},
    # Alive, certified biometrically in the period.
    "P9": {"birth_date": "1955-01-01", "urban": "1"},
    # Alive, pending since before the period, certified in January.
    "P10": {"birth_date": "1958-01-01", "urban": "1"},
}


def _id(person_id: str) -> str:
    birth = date.fromisoformat(PEOPLE[person_id]["birth_date"])
    return make_id_number("110105", birth, int(person_id[1:]) * 2 + 1)


def _pseudonym(person_id: str) -> str:
    return PSEUDONYMIZER.person(_id(person_id))


def _person_row(person_id: str) -> dict[str, str]:
    row = dict.fromkeys(PERSON_COLUMNS, "")
    row.update(
        person_id=person_id,
        id_number=_id(person_id),
        name="张三",
        sex="M",
        insurance_type="enterprise",
        monthly_benefit="1000.00",
        benefit_start="2010-01-01",
        registration_region="110105",
        residence_region="110105",
        urban="1",
        abroad="0",
        profile="urban_active",
        death_reported="0",
        never_certifies="0",
    )
    row.update(PEOPLE[person_id])
    return row


#: (record_id, source, person_id, reported_at, kind, defect, expected)
RECORDS: list[tuple[str, str, str, str, str, str, str]] = [
    ("r1", "bank_card_password_change", "P1", "2024-01-10T09:00:00", "genuine", "", "accept"),
    ("r2", "transit_trip", "P2", "2024-02-01T08:00:00", "genuine", "", "accept"),
    ("r3", "app_12333", "P2", "2022-12-31T10:00:00", "genuine", "", "accept"),
    ("r4", "app_12333", "P2", "2024-03-01T10:00:00", "genuine", "wrong_check_digit", "reject"),
    ("r5", "bank_card_opening", "P9", "2024-03-02T10:00:00", "genuine", "malformed_json", "reject"),
    (
        "r6",
        "rail_travel",
        "P9",
        "2024-03-03T10:00:00",
        "genuine",
        "missing_key_field",
        "quarantine",
    ),
    ("r7", "air_travel", "P9", "2024-03-04T10:00:00", "genuine", "id_15_digit", "repair"),
    ("r8", "air_travel", "P9", "2024-03-04T10:00:00", "noise", "exact_duplicate", "drop_duplicate"),
    ("r9", "rail_travel", "P1", "2024-03-05T10:00:00", "genuine", "late_batch", "flag"),
    ("r10", "funeral_cremation", "P4", "2024-03-28T10:00:00", "genuine", "name_typo", "review"),
    ("r11", "rail_travel", "P1", "2024-03-06T10:00:00", "genuine", "name_typo", "unmatched"),
    ("r12", "app_12333", "P9", "2024-02-20T10:00:00", "genuine", "", "accept"),
]


def _change(
    person_id: str,
    version: int,
    as_of: str,
    status: Status,
    proof: tuple[str, CertificationMethod] | None = None,
) -> StateChange:
    return StateChange(
        change_id=uuid.uuid4(),
        version=version,
        pseudonym=_pseudonym(person_id),
        from_status=None,
        to_status=status,
        rule="test",
        hold_payment=status in (Status.SUSPENDED, Status.LOST),
        last_proof_of_life_at=datetime.fromisoformat(proof[0]) if proof else None,
        last_proof_method=proof[1] if proof else None,
        as_of=date.fromisoformat(as_of),
        changed_at=NOW,
    )


P1_CHANGES = [
    _change(
        "P1",
        3,
        "2024-03-25",
        Status.ELIGIBLE,
        ("2024-03-24T10:00:00+08:00", CertificationMethod.BIG_DATA),
    ),
    _change("P1", 1, "2024-01-01", Status.ELIGIBLE),
    _change("P1", 2, "2024-03-10", Status.SUSPENDED),
]
CHANGES = [
    *P1_CHANGES,
    P1_CHANGES[0],  # redelivered
    _change("P2", 1, "2024-01-01", Status.WARNING),
    _change("P2", 2, "2024-02-15", Status.PENDING),
    _change("P2", 3, "2024-04-01", Status.SUSPENDED),
    _change("P3", 1, "2024-01-01", Status.ELIGIBLE),
    _change("P4", 1, "2024-01-01", Status.ELIGIBLE),
    _change("P4", 2, "2024-04-04", Status.LOST),
    _change("P5", 1, "2023-12-15", Status.SUSPENDED),
    _change("P6", 1, "2024-01-01", Status.ELIGIBLE),
    _change("P6", 2, "2024-05-09", Status.LOST),
    _change("P7", 1, "2024-01-01", Status.ELIGIBLE),
    _change("P7", 2, "2024-02-05", Status.LOST),
    _change("P9", 1, "2024-01-01", Status.ELIGIBLE),
    # 2024-02-19T20:00Z is 2024-02-20 in Beijing.
    _change(
        "P9",
        2,
        "2024-02-20",
        Status.ELIGIBLE,
        ("2024-02-19T20:00:00+00:00", CertificationMethod.BIOMETRIC),
    ),
    _change("P10", 1, "2023-12-01", Status.PENDING),
    _change(
        "P10",
        2,
        "2024-01-20",
        Status.ELIGIBLE,
        ("2024-01-20T10:00:00+08:00", CertificationMethod.BIOMETRIC),
    ),
]


def _command(person_id: str, kind: PaymentCommandKind, effective: str) -> PaymentCommand:
    return PaymentCommand(
        command_id=uuid.uuid4(),
        kind=kind,
        pseudonym=_pseudonym(person_id),
        effective_date=date.fromisoformat(effective),
        reason="test",
        cause_change_id=uuid.uuid4(),
        issued_at=NOW,
    )


SUSPEND, RESTORE = PaymentCommandKind.SUSPEND, PaymentCommandKind.RESTORE
P1_SUSPEND = _command("P1", SUSPEND, "2024-03-10")
COMMANDS = [
    P1_SUSPEND,
    P1_SUSPEND,  # redelivered: same command id, counted once
    _command("P1", RESTORE, "2024-03-25"),
    _command("P2", SUSPEND, "2024-04-01"),
    _command("P4", SUSPEND, "2024-04-04"),
    _command("P5", SUSPEND, "2023-12-15"),
    _command("P6", SUSPEND, "2024-05-09"),
    _command("P7", SUSPEND, "2024-02-05"),
]


def _dead_letter(key: str | None, value: str) -> DeadLetter:
    return DeadLetter(
        reason="test",
        error_type="ValueError",
        consumer="ingest",
        topic="feed.test.v1",
        partition=0,
        offset=0,
        key=key,
        value=value,
        headers={},
        failed_at=NOW,
    )


def _quarantined(record_id: str, source: str) -> QuarantinedEvent:
    event = LifeEvent(
        event_id=uuid.uuid4(),
        source=source,
        person=PersonRef(
            pseudonym=_pseudonym("P9"),
            name_digest=PSEUDONYMIZER.name("张三"),
            id_masked="110105********0019",
            name_masked="张*",
        ),
        occurred_at=NOW,
        received_at=NOW,
        provenance=Provenance(channel=Channel.KAFKA, source_record_id=record_id),
    )
    failure = RuleFailure(rule_id="x", dimension="validity", severity="error", message="x")
    return QuarantinedEvent(event=event, failures=[failure], checked_at=NOW)


def _write_jsonl(path: Path, lines: list[Any]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(line if isinstance(line, str) else line.model_dump_json())
            handle.write("\n")


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    truth, results = tmp_path / "sim", tmp_path / "results"
    (truth / "truth").mkdir(parents=True)
    results.mkdir()
    with (truth / PERSONS_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, PERSON_COLUMNS)
        writer.writeheader()
        writer.writerows(_person_row(p) for p in PEOPLE)
    with (truth / RECORDS_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, RECORD_COLUMNS)
        writer.writeheader()
        for rid, source, pid, reported, kind, defect, expected in RECORDS:
            writer.writerow(
                {
                    "record_id": rid,
                    "source": source,
                    "person_id": pid,
                    "occurred_at": reported,
                    "reported_at": reported,
                    "kind": kind,
                    "defect": defect,
                    "expected": expected,
                }
            )
    _write_jsonl(results / STATE_CHANGES_FILE, CHANGES)
    _write_jsonl(results / PAYMENT_COMMANDS_FILE, COMMANDS)
    _write_jsonl(
        results / REJECTED_FILE,
        [
            # Departments key a record by its person: the record id is in the value.
            _dead_letter(
                "5d0f3c2a", '{"reported_at":"2024-03-01T10:00:00","record_id":"r4","id_number":"1"}'
            ),
            _dead_letter("r5", "{not json"),
            _dead_letter(None, ""),
        ],
    )
    _write_jsonl(
        results / QUARANTINED_FILE,
        [_quarantined("r7", "air_travel"), _quarantined("r12", "app_12333")],
    )
    return truth, results


def _evaluate(dirs: tuple[Path, Path]) -> dict[str, Any]:
    return evaluate(*dirs, pseudonymizer=PSEUDONYMIZER, start=START, end=END)


def test_required_keys_and_json(dirs: tuple[Path, Path]) -> None:
    metrics = _evaluate(dirs)
    assert set(REQUIRED_KEYS) <= set(metrics)
    for key in ("period", "persons", "confusion", "confusion_final", "burden", "notes"):
        assert key in metrics
    assert metrics["period"] == {"start": "2024-01-01", "end": "2024-06-30"}
    assert metrics["persons"] == 10
    json.dumps(metrics)  # plain JSON types only (no numpy scalars, no dates)


def test_living_suspensions(dirs: tuple[Path, Path]) -> None:
    metrics = _evaluate(dirs)
    # P1: bank-card record 2024-01-10, suspended 2024-03-10, restored 2024-03-25.
    assert metrics["living_wrongly_suspended"] == 1
    assert metrics["living_wrongly_suspended_person_days"] == 15
    # P2: only auxiliary, too old or rejected direct records. P4, P6 (death detections)
    # and P7 (in prison) are not living suspensions; P5's is before the period.
    assert metrics["living_suspended_without_evidence"] == 1


def test_unrestored_wrongful_suspension_counts_days_to_end(dirs: tuple[Path, Path]) -> None:
    results = dirs[1]
    _write_jsonl(results / PAYMENT_COMMANDS_FILE, [P1_SUSPEND])
    metrics = _evaluate(dirs)
    assert metrics["living_wrongly_suspended"] == 1
    assert metrics["living_wrongly_suspended_person_days"] == (END - date(2024, 3, 10)).days


def test_deaths_and_delays(dirs: tuple[Path, Path]) -> None:
    metrics = _evaluate(dirs)
    assert metrics["deaths"] == 4  # P3, P4, P5, P6
    assert metrics["deaths_reported"] == 4
    # P4 after 10 days, P6 a day before the recorded death; P5's older suspension is no
    # detection.
    assert metrics["deaths_suspended"] == 2
    assert metrics["death_to_suspension_days_p50"] == pytest.approx(4.5)
    assert metrics["death_to_suspension_days_p95"] == pytest.approx(-1 + 0.95 * 11)
    assert metrics["deaths_missed"] == 2  # P3 and P5


def test_improper_payments(dirs: tuple[Path, Path]) -> None:
    metrics = _evaluate(dirs)
    # P3: March..June at 3000 (missed, lost); P4: April at 2000 (recovered);
    # P5: suspended all along, nothing paid; P6: suspended before June 1.
    assert metrics["improper_payment_months"] == 5
    assert metrics["improper_payment_yuan"] == 14000.00
    assert metrics["improper_payment_recovered_yuan"] == 2000.00


def test_no_deaths_suspended_gives_null_delays(dirs: tuple[Path, Path]) -> None:
    results = dirs[1]
    _write_jsonl(results / PAYMENT_COMMANDS_FILE, [])
    metrics = _evaluate(dirs)
    assert metrics["deaths_suspended"] == 0
    assert metrics["death_to_suspension_days_p50"] is None
    assert metrics["death_to_suspension_days_p95"] is None
    assert metrics["improper_payment_recovered_yuan"] == 0.0


def test_confusion_on_a_month_end(dirs: tuple[Path, Path]) -> None:
    metrics = _evaluate(dirs)
    assert list(metrics["confusion"]) == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
        "2024-05-31",
        "2024-06-30",
    ]
    march = metrics["confusion"]["2024-03-31"]
    # P1 (version 3 despite the file order), P6, P9, P10 eligible; P2 pending; P5 suspended.
    assert march["alive"] == {
        "eligible": 4,
        "warning": 0,
        "pending": 1,
        "lost": 0,
        "suspended": 1,
        "unknown": 0,
    }
    assert march["dead"]["eligible"] == 2  # P3, and P4 whose LOST is dated 2024-04-04
    assert sum(march["dead"].values()) == 2
    assert march["imprisoned"]["lost"] == 1
    assert march["not_started"]["unknown"] == 1
    final = metrics["confusion_final"]
    assert final == metrics["confusion"]["2024-06-30"]
    assert final["alive"]["suspended"] == 1  # P2
    assert final["dead"] == {
        "eligible": 1,
        "warning": 0,
        "pending": 0,
        "lost": 2,
        "suspended": 1,
        "unknown": 0,
    }
    assert sum(sum(row.values()) for row in final.values()) == 10
    assert metrics["timeline"][2] == {
        "date": "2024-03-31",
        "living": 7,
        "living_pending": 1,
        "living_suspended": 1,
    }


def test_month_ends() -> None:
    assert month_ends(date(2024, 1, 15), date(2024, 3, 20)) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 20),
    ]
    assert month_ends(date(2024, 12, 1), date(2024, 12, 31)) == [date(2024, 12, 31)]


def test_certification_shares(dirs: tuple[Path, Path]) -> None:
    metrics = _evaluate(dirs)
    # Alive at the end: P1 (big data), P9 and P10 (biometric), P2 (none).
    assert metrics["big_data_certified_share"] == 0.25
    assert metrics["big_data_aux_certified_share"] == 0.0
    assert metrics["certified_share_by_method"] == {
        "big_data": 0.25,
        "biometric": 0.5,
        "home_visit": 0.0,
        "manual": 0.0,
        "big_data_aux": 0.0,
        "none": 0.25,
    }


def test_burden(dirs: tuple[Path, Path]) -> None:
    metrics = _evaluate(dirs)
    # Alive throughout: P1, P2, P8, P9, P10; asked to act: P1 (suspended), P2 (pending,
    # suspended), P10 (pending when the period began).
    assert metrics["living_asked_to_act"] == 3
    burden = metrics["burden"]
    assert (burden["living"], burden["asked_to_act"]) == (5, 3)
    ages = burden["by_age_band"]
    assert {band: (v["living"], v["asked_to_act"]) for band, v in ages.items()} == {
        "<60": (1, 0),
        "60-69": (2, 1),
        "70-79": (1, 1),
        "80-89": (1, 1),
        "90+": (0, 0),
    }
    assert ages["90+"]["share"] is None
    assert burden["by_area"]["rural"] == {"living": 1, "asked_to_act": 1, "share": 1.0}
    assert burden["by_area"]["urban"]["asked_to_act"] == 2
    assert burden["by_region"] == {"1101": {"living": 5, "asked_to_act": 3, "share": 0.6}}


def test_defect_recall(dirs: tuple[Path, Path]) -> None:
    metrics = _evaluate(dirs)
    recall = metrics["defect_recall"]
    assert recall["malformed_json"] == 1.0  # dead-lettered with only its key
    assert recall["wrong_check_digit"] == 1.0  # keyed by its person, its id in the value
    assert recall["missing_key_field"] == 0.0  # not quarantined
    assert recall["id_15_digit"] == 0.0  # a REPAIR record quarantined
    assert recall["exact_duplicate"] is None  # no duplicates.jsonl
    assert recall["late_batch"] is None  # flags need the quality report
    assert recall["name_typo"] == 1.0  # the unmatched one; the review one is not evaluable
    notes = "\n".join(metrics["notes"])
    assert "exact_duplicate" in notes and "duplicates.jsonl is absent" in notes
    assert "late_batch" in notes and "name_typo: recall over 1 of 2" in notes
    # Clean genuine records r1, r2, r3, r12; r12 was quarantined.
    assert metrics["clean_records_quarantined_share"] == 0.25
    assert metrics["records"]["total"] == 12
    assert metrics["records"]["by_expected"] == {
        "accept": 4,
        "drop_duplicate": 1,
        "flag": 1,
        "quarantine": 1,
        "reject": 2,
        "repair": 1,
        "review": 1,
        "unmatched": 1,
    }


def test_duplicates_file_makes_duplicates_evaluable(dirs: tuple[Path, Path]) -> None:
    results = dirs[1]
    (results / DUPLICATES_FILE).write_text('{"record_id": "r8"}\n', encoding="utf-8")
    metrics = _evaluate(dirs)
    assert metrics["defect_recall"]["exact_duplicate"] == 1.0
    assert not any("exact_duplicate" in note for note in metrics["notes"])


def test_flagged_and_reviews_by_event_id_make_flags_and_reviews_evaluable(
    dirs: tuple[Path, Path],
) -> None:
    """Quality's flags (flagged.jsonl) and the matcher's reviews, which know events, not
    record ids (an event id is ``event_id_for(source, record_id)``)."""
    results = dirs[1]
    (results / FLAGGED_FILE).write_text('{"record_id": "r9"}\n', encoding="utf-8")
    review = event_id_for("funeral_cremation", "r10")
    (results / REVIEWS_FILE).write_text(f'{{"event_id": "{review}"}}\n', encoding="utf-8")
    metrics = _evaluate(dirs)
    assert metrics["defect_recall"]["late_batch"] == 1.0
    assert metrics["defect_handling"]["name_typo"] == {"records": 2, "evaluable": 2, "handled": 2}
    (results / FLAGGED_FILE).write_text('{"record_id": "r1"}\n', encoding="utf-8")
    assert _evaluate(dirs)["defect_recall"]["late_batch"] == 0.0


def test_render_html(dirs: tuple[Path, Path]) -> None:
    metrics = _evaluate(dirs)
    metrics["notes"].append("名字 <script>alert('x')</script>")
    metrics["burden"]["by_region"]["<b>"] = {"living": 1, "asked_to_act": 0, "share": 0.0}
    html = render_html(metrics)
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;b&gt;" in html
    assert "¥14,000.00" in html and "¥2,000.00" in html  # improper, recovered
    assert "25.0%" in html  # big data share
    assert "4.5" in html  # delay p50
    assert f"{metrics['death_to_suspension_days_p95']:,.1f}" in html
    assert "<svg" in html and "<polyline" in html
    assert "待核实" in html and "丧失资格" in html
    for key in ("living_wrongly_suspended", "living_asked_to_act", "defect_recall"):
        assert key in html


def test_scan_paths_agree(dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The vectorised records scan, tiny blocks, the csv path and the child process agree."""
    import lifesign_sim.evaluate as evaluation

    expected = _evaluate(dirs)
    monkeypatch.setattr(evaluation, "_BLOCK_BYTES", 64)  # lines cut across blocks
    assert _evaluate(dirs) == expected
    monkeypatch.setattr(evaluation, "PARALLEL_RECORDS_BYTES", 0)  # the child process
    assert _evaluate(dirs) == expected
    # A quoted field half-way switches the rest of the file to the csv path.
    records = dirs[0] / RECORDS_FILE
    lines = records.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(6, 'q1,"rail_travel",P9,2024-03-03,2024-03-03,"no,ise",,accept\r\n')
    records.write_text("".join(lines), encoding="utf-8", newline="")
    quoted = _evaluate(dirs)
    assert quoted["records"]["total"] == expected["records"]["total"] + 1
    assert quoted["records"]["by_expected"]["accept"] == 5
    for key in ("defect_recall", "clean_records_quarantined_share", "living_wrongly_suspended"):
        assert quoted[key] == expected[key]
