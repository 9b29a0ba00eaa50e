"""``make bench`` (simulator): a synthetic province of 1,000,000 pensioners over 365 days.

Issue 3's target: under 5 minutes on this 2-core machine, peak memory under 4 GB. Prints
``BENCH simulate_1m_seconds``, the peak resident memory of the main process and of the
largest worker, their sum with every worker at its peak (an upper bound of the total), and
the records written per second. ``BENCH_PERSONS`` changes the size for a quick look.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from lifesign_sim.simulate import SimulationConfig, run


def main() -> None:
    persons = int(os.environ.get("BENCH_PERSONS", "1000000"))
    workers = 2
    out = Path(tempfile.mkdtemp(prefix="lifesign-sim-bench-")) / "province"
    try:
        started = time.perf_counter()
        manifest = run(
            SimulationConfig(
                persons=persons, start=date(2025, 1, 1), days=365, seed=1, workers=workers
            ),
            out,
        )
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    label = "1m" if persons == 1_000_000 else str(persons)
    print(f"BENCH simulate_{label}_seconds {seconds:.1f} s")
    print(
        f"BENCH simulate_{label}_records_per_second {manifest['records'] / seconds:.0f} records/s"
    )
    print(f"BENCH simulate_{label}_peak_rss_main {main_mb:.0f} MB")
    print(f"BENCH simulate_{label}_peak_rss_worker {worker_mb:.0f} MB")
    print(f"BENCH simulate_{label}_peak_rss_bound {main_mb + workers * worker_mb:.0f} MB")


if __name__ == "__main__":
    main()
