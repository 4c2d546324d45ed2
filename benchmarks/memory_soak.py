"""Memory across many ai-trading panel runs in one process (is it flat?).

    python -m benchmarks.memory_soak --runs 50 [--mode bar|block] [--json out.json]

Runs the ``panel`` case through the ai-trading engine ``--runs`` times in this process and
records the resident set size (from ``/proc/self/statm``) after each run, after a garbage
collection. Reports the first, last and peak RSS and the least-squares slope in MiB per run
over the second half (the first runs include one-off allocations: imports, caches).
"""

from __future__ import annotations

import argparse
import gc
import json
from pathlib import Path

import numpy as np

from . import data as bench_data
from .engines import ai_trading_engine
from .measure import current_rss_mb, peak_rss_mb


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.memory_soak", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--mode", choices=ai_trading_engine.MODES, default="bar")
    parser.add_argument("--case", choices=sorted(bench_data.CASES), default="panel")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    case = bench_data.load(bench_data.ensure_case(args.case))
    rss: list[float] = []
    outcomes = set()
    for i in range(args.runs):
        outcomes.add(ai_trading_engine.run(case, args.mode))
        gc.collect()
        rss.append(current_rss_mb())
        print(f"run {i + 1:3d}: rss {rss[-1]:8.1f} MiB", flush=True)
    half = rss[len(rss) // 2 :]
    slope = float(np.polyfit(np.arange(len(half)), half, 1)[0]) if len(half) > 1 else 0.0
    report = {
        "case": args.case,
        "mode": args.mode,
        "runs": args.runs,
        "rss_mb": rss,
        "first_mb": rss[0],
        "last_mb": rss[-1],
        "peak_rss_mb": peak_rss_mb(),
        "slope_mb_per_run_second_half": slope,
        "identical_outcomes": len(outcomes) == 1,
    }
    print(
        f"first {rss[0]:.1f} MiB, last {rss[-1]:.1f} MiB, peak {report['peak_rss_mb']:.1f} MiB, "
        f"slope over the second half {slope:+.3f} MiB/run, identical outcomes: {report['identical_outcomes']}"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
