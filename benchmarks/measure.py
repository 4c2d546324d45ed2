"""Timing and memory measurement shared by every engine process (standard library + NumPy
only, so the peers' virtualenv can import it).

Each engine runs as ``python -m benchmarks.<engine module> --case NAME --repeats K --out FILE``
in a fresh process: it loads the cached case, runs once untimed on a small head of the data
(JIT compilation, imports, caches), then ``K`` timed runs, and writes one JSON object to
``FILE``. Wall time covers turning the in-memory arrays into the engine's inputs, the backtest
and reading the result back; it excludes reading the ``.npz`` file. Peak memory is the
process's peak resident set size (``ru_maxrss``), interpreter and data included.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from . import data as bench_data

EngineFn = Callable[[bench_data.OHLCV], tuple[int, float]]
WARMUP_BARS = 300
WARMUP_SYMBOLS = 3


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024.0 if sys.platform != "darwin" else kib / 1024.0 / 1024.0


def current_rss_mb() -> float:
    """Current resident set size, MiB, from /proc (Linux); NaN elsewhere."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
    except OSError:
        return float("nan")
    return pages * resource.getpagesize() / 2**20


def version_of(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def run_engine(
    engine: str,
    fn: EngineFn,
    versions: dict[str, str | None],
    argv: list[str] | None = None,
    annotate: Callable[[bench_data.OHLCV], dict[str, Any]] | None = None,
) -> None:
    """Command-line entry of an engine module: measure ``fn`` on a case, write JSON.
    ``annotate(case)`` (untimed, after the runs) adds keys to the result."""
    parser = argparse.ArgumentParser(description=f"benchmark case runner for {engine}")
    parser.add_argument("--case", required=True, choices=sorted(bench_data.CASES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--head", type=int, nargs=2, metavar=("BARS", "SYMBOLS"),
        help="only the first BARS bars of the first SYMBOLS symbols (a quick agreement check)",
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # peers warn about open trades etc.; the numbers are checked instead

    case = bench_data.load(bench_data.ensure_case(args.case))
    if args.head:
        case = case.head(args.head[0], min(args.head[1], case.shape[1]))
    fn(case.head(WARMUP_BARS, min(WARMUP_SYMBOLS, case.shape[1])))
    times: list[float] = []
    trades, equity = 0, 0.0
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        trades, equity = fn(case)
        times.append(time.perf_counter() - t0)
    result: dict[str, Any] = {
        "engine": engine,
        "case": args.case,
        "status": "ok",
        "trades": int(trades),
        "final_equity": float(equity),
        "wall_times_s": times,
        "wall_time_s": statistics.median(times),
        "bars": case.shape[0] * case.shape[1],
        "peak_rss_mb": peak_rss_mb(),
        "versions": {"python": platform.python_version(), **versions},
    }
    if annotate is not None:
        result.update(annotate(case))
    args.out.write_text(json.dumps(result, indent=2))
