"""The foundation slice through real OS processes, real Kafka (Tansu) and PostgreSQL.

A funeral record flows ingest -> quality -> matcher, marks the pensioner lost
(R-7.5.1 b) and payments-bridge emits exactly one SUSPEND (R-7.9), although the record is
published twice; a bank-card password change defers a pensioner's validity (R-7.10); a
malformed message and a bad id land on the dead-letter topic with their reasons.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from dateutil.relativedelta import relativedelta

from lifesign.certification import PaymentCommandKind, Status
from lifesign.demo import PASSWORD_CHANGE_AGO, run_slice
from lifesign.runtime import stack
from lifesign.settings import TIMEZONE, LifesignSettings

pytestmark = pytest.mark.e2e


def test_slice_through_separate_processes(
    own_kafka: str, own_database: str, tmp_path: Path
) -> None:
    settings = LifesignSettings()
    now = datetime.now(TIMEZONE)
    with stack(var_dir=tmp_path, kafka_bootstrap=own_kafka, database_url=own_database) as s:
        result = asyncio.run(
            run_slice(
                bootstrap=s.kafka_bootstrap,
                ingest_url=s.supervisor.url("ingest"),
                pseudonymizer=settings.pseudonymizer,
                now=now,
            )
        )
        lists = httpx.get(f"{s.supervisor.url('lists')}/lists", timeout=10).json()
        feed_counts = httpx.get(f"{s.supervisor.url('ingest')}/feeds/counts", timeout=10).json()
        quality_counts = httpx.get(f"{s.supervisor.url('quality')}/counts", timeout=10).json()
        deceased = result.pseudonyms["deceased"]
        explain = httpx.get(
            f"{s.supervisor.url('matcher')}/persons/{deceased}/explain", timeout=10
        ).json()

    holder = result.pseudonyms["card_holder"]
    quiet = result.pseudonyms["quiet"]
    observed = result.observed
    assert result.import_answer["imported"] == 4

    # b and: one SUSPEND, although the funeral record arrived twice.
    suspends = [c for c in observed.commands if c.kind is PaymentCommandKind.SUSPEND]
    assert [c.pseudonym for c in suspends] == [deceased]
    assert observed.latest(deceased).to_status is Status.LOST  # type: ignore[union-attr]
    assert [t["to_status"] for t in explain["transitions"]] == ["eligible", "lost"]

    # the card holder was in the warning period; validity now runs a year from today.
    assert result.before[holder].to_status is Status.WARNING
    after = observed.latest(holder)
    assert after is not None and after.to_status is Status.ELIGIBLE
    # Validity runs from the proof of life's Beijing date (which is yesterday's for the
    # first two hours after Beijing midnight).
    proved_on = (now - PASSWORD_CHANGE_AGO).date()
    assert after.validity_end == proved_on + relativedelta(months=12)
    assert not [c for c in observed.commands if c.pseudonym == holder]

    # Nothing happened to the quiet pensioner: one state change, the initial one.
    assert [c.version for c in observed.changes if c.pseudonym == quiet] == [1]

    # Dead letters with reasons; the good records were not held up by them.
    reasons = [d.reason for d in observed.dead_letters]
    assert len(reasons) == 2
    assert any("Invalid JSON" in r for r in reasons)
    assert any("check digit" in r for r in reasons)

    # Counts balance at each stage: received = accepted + rejected (ingest) and
    # received = accepted + quarantined + duplicates (quality).
    funeral = next(c for c in feed_counts if c["source"] == "funeral_cremation")
    assert (funeral["received"], funeral["accepted"], funeral["rejected"]) == (4, 2, 2)
    q = next(c for c in quality_counts if c["source"] == "funeral_cremation")
    assert (q["received"], q["accepted"], q["quarantined"], q["duplicates"]) == (2, 1, 0, 1)

    assert lists["lists"] == {"eligible": 3, "pending": 0, "lost": 1}
    assert result.seconds_events < 30
