"""Benchmark: the refund SLA report over 1,000,000 generated applications, vectorised (refunds.report)
against a straightforward per-row loop on the same WorkingCalendar (refunds.report.row_metrics_reference,
which walks the calendar day by day), in the same run.

The loop is measured on the first --baseline-rows rows (default 100,000; --baseline-rows 0 = all rows)
and its time scaled linearly to the full table; the per-row results are checked equal to the vectorised
ones on those rows. Goal: vectorised >= 20x faster. Also reports peak memory of the vectorised report.

    .venv/bin/python bench/refunds.py [--rows 1000000] [--baseline-rows 100000]
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd

from refunds.calendar import WorkingCalendar
from refunds.report import build_report, row_metrics, row_metrics_reference, summarise
from refunds.sla import ProfileRegistry
from refunds.synthetic import generate_applications

GOAL = 20.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000, help="0 = run the loop on all rows")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args()

    profile = ProfileRegistry.builtin().get("shandong-2020")
    calendar = WorkingCalendar()
    as_of = datetime(2027, 3, 1, tzinfo=ZoneInfo("Asia/Shanghai"))

    t0 = time.perf_counter()
    frame = generate_applications(
        args.rows, profile, calendar, start=date(2026, 1, 1), days=365, seed=args.seed
    )
    generate_s = time.perf_counter() - t0
    print(f"generated {len(frame):,} applications in {generate_s:.2f} s")

    # Warm-up on a small slice (imports, calendar index), then the timed full report.
    build_report(frame.iloc[:1000], profile, calendar, as_of=as_of)
    gc.collect()
    t0 = time.perf_counter()
    report = build_report(frame, profile, calendar, as_of=as_of)
    vector_s = time.perf_counter() - t0
    print(f"vectorised report: {vector_s:.3f} s ({vector_s / len(frame) * 1e6:.2f} us/row)")

    gc.collect()
    tracemalloc.start()
    build_report(frame, profile, calendar, as_of=as_of)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"vectorised report peak traced memory: {peak / 2**20:.0f} MiB (input table itself not included)")

    n_loop = len(frame) if args.baseline_rows <= 0 else min(args.baseline_rows, len(frame))
    subset = frame.iloc[:n_loop]
    t0 = time.perf_counter()
    loop_metrics = row_metrics_reference(subset, profile, calendar, as_of)
    summarise(loop_metrics, profile)
    loop_s = time.perf_counter() - t0
    loop_full_s = loop_s * len(frame) / n_loop
    scaled = "" if n_loop == len(frame) else f", scaled to {len(frame):,} rows: {loop_full_s:.1f} s"
    print(f"per-row loop: {loop_s:.2f} s on {n_loop:,} rows ({loop_s / n_loop * 1e6:.1f} us/row){scaled}")

    pd.testing.assert_frame_equal(
        row_metrics(subset, profile, calendar, as_of), loop_metrics, check_dtype=False
    )
    print(f"per-row results identical on the {n_loop:,} rows compared")

    ratio = loop_full_s / vector_s
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"speed-up: {ratio:.1f}x (goal >= {GOAL:.0f}x) -> {'MET' if ratio >= GOAL else 'NOT MET'}")
    print(f"process peak RSS: {rss:.0f} MiB")
    overall = report.by_class.loc["all"]
    print(
        f"report: {int(overall['count']):,} applications, on-time rate {overall['on_time_rate']:.3f}, "
        f"portfolio mean {report.portfolio['mean_wd']:.2f} WD vs target {report.portfolio['target_wd']:g}"
    )
    return 0 if ratio >= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
