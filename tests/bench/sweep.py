"""``make bench`` (sweep and lists): 1,000,000 pensioners, issue 5's target of at most 10 s
for the daily sweep plus the three lists.

The certification state and the lists' history are filled with one set-based INSERT each
(validity ends spread over a year, so a day's sweep finds about 1/365 of the people at each
boundary), then one date is swept (selection by one query, re-evaluation of the candidates
through the same code the services run) and the three lists are counted for that date.
Prints the figures; ``BENCH_PERSONS`` changes the size.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import text

from lifesign.clock import FixedClock
from lifesign.db import make_engine, make_sessions, upgrade
from lifesign.messaging import Outbox
from lifesign.runtime import embedded_postgres
from lifesign_lists import repository as lists_repository
from lifesign_lists.main import SPEC as LISTS
from lifesign_matcher.consumers import Certifier
from lifesign_matcher.main import SPEC as MATCHER
from lifesign_matcher.models import messaging
from lifesign_matcher.sweep import Sweeper

DAY = date(2026, 6, 1)

FILL_MATCHER = """
INSERT INTO matcher.pensioner
SELECT lpad(to_hex(n), 64, '0'), repeat('b', 64), 'P' || n, date '2001-04-01',
       date '2025-06-01' + (n % 365), '410102', '410102', '{}'::jsonb, now()
FROM generate_series(1, :n) AS n;
INSERT INTO matcher.certification (pseudonym, status, rule, hold_payment, validity_start,
                                   validity_end, version, changed_at)
SELECT lpad(to_hex(n), 64, '0'),
       CASE WHEN date '2026-06-01' + (n % 365) - interval '3 months' <= date '2026-05-31'
            THEN 'warning' ELSE 'eligible' END,
       'R-6.2', false, date '2025-06-01' + (n % 365), date '2026-06-01' + (n % 365), 1,
       timestamptz '2026-05-01 00:00+08'
FROM generate_series(1, :n) AS n;
"""
FILL_LISTS = """
INSERT INTO lists.status_history
SELECT lpad(to_hex(n), 64, '0'), v, (ARRAY['eligible','warning','pending','lost'])[1 + (n + v) % 4],
       'R-6.2', date '2025-01-01' + ((n * 7 + v * 90) % 500), NULL,
       '41' || lpad(((n % 17) + 1)::text, 2, '0') || '02', NULL
FROM generate_series(1, :n) AS n, generate_series(1, 3) AS v;
"""


async def main() -> None:
    persons = int(os.environ.get("BENCH_PERSONS", "1000000"))
    with (
        tempfile.TemporaryDirectory(prefix="lifesign-sweep-bench-") as tmp,
        embedded_postgres(Path(tmp) / "pg") as url,
    ):
        await upgrade(url, MATCHER.migrations, MATCHER.schema)
        await upgrade(url, LISTS.migrations, LISTS.schema)
        engine = make_engine(url)
        sessions = make_sessions(engine)
        async with engine.begin() as connection:
            for statement in (FILL_MATCHER + FILL_LISTS).split(";"):
                if statement.strip():
                    await connection.execute(text(statement), {"n": persons})
            await connection.execute(text("ANALYZE"))
        clock = FixedClock(datetime(2026, 12, 3, tzinfo=UTC))
        sweeper = Sweeper(
            sessions=sessions, certifier=Certifier(outbox=Outbox(messaging.outbox), clock=clock)
        )
        started = time.perf_counter()
        result = await sweeper.sweep(DAY)
        swept = time.perf_counter() - started
        started = time.perf_counter()
        async with sessions() as session:
            counts = await lists_repository.counts_on(session, DAY, None)
        listed = time.perf_counter() - started
        await engine.dispose()
    label = "1m" if persons == 1_000_000 else str(persons)
    detail = f"{result.candidates} candidates, {result.changes} changes"
    print(f"BENCH sweep_day_{label}_seconds {swept:.2f} s ({detail})")
    print(f"BENCH lists_on_date_{label}_seconds {listed:.2f} s ({sum(counts.values())} people)")
    print(f"BENCH sweep_plus_lists_{label}_seconds {swept + listed:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
