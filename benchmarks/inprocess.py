"""Time ai-trading runs in this process: one untimed run, then ``--runs`` timed ones, best and
all reported, with each phase of the last run (backtest loop, run document, manifest).

    python -m benchmarks.inprocess --case panel --mode bar --runs 3 [--checkout DIR] [--bars N] [--keep-gc] [--cycles]

For comparing two versions of the project on the same machine in the same hour, ``--checkout``
runs the kernel and the ``sim``, ``sma`` and ``sample-data`` plugins of another checkout
(e.g. ``git worktree add ../before <commit>``) under this checkout's harness and data.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import data as bench_data

PHASES = ("_run_backtest", "_run_block", "build_run_document", "build_manifest")


def _timed(phases: dict[str, float], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - t0

    return wrapper


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess", description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(bench_data.CASES), default="panel")
    parser.add_argument("--mode", choices=("bar", "block"), default="bar")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--checkout", type=Path, help="another checkout whose kernel and plugins to time")
    parser.add_argument("--bars", type=int, help="only the first BARS bars of the case")
    parser.add_argument(
        "--keep-gc", action="store_true", help="leave garbage collection on during the run (what the pause saves)"
    )
    parser.add_argument(
        "--cycles", action="store_true", help="after the timed runs, count what one run leaves for the cycle collector"
    )
    args = parser.parse_args(argv)
    if args.checkout is not None:
        root = args.checkout.resolve()
        plugins = [root / "plugins" / f"ai-trading-{p}" / "src" for p in ("sim", "sma", "sample-data")]
        sys.path[:0] = [str(root), *map(str, plugins)]  # before the installed (editable) copies
    # imported only now, so that --checkout decides which kernel is timed
    from loguru import logger

    runner = importlib.import_module("ai_trading_core.runner")
    ai_trading_engine = importlib.import_module("benchmarks.engines.ai_trading_engine")
    logger.remove()

    phases: dict[str, float] = {}
    for name in PHASES:  # the runner looks these up at call time
        setattr(runner, name, _timed(phases, name, getattr(runner, name)))
    if args.keep_gc:
        runner.gc_paused = lambda pause=True: contextlib.nullcontext()
    case = bench_data.load(bench_data.ensure_case(args.case))
    if args.bars:
        rows = slice(0, args.bars)
        case = dataclasses.replace(
            case, **{f: getattr(case, f)[rows] for f in ("timestamps", "open", "high", "low", "close", "volume")}
        )
    ai_trading_engine.run(case, args.mode)
    times = []
    for _ in range(args.runs):
        phases.clear()
        t0 = time.perf_counter()
        outcome = ai_trading_engine.run(case, args.mode)
        times.append(time.perf_counter() - t0)
    total = times[-1]
    shown = ", ".join(f"{k.strip('_')} {v:.2f} s" for k, v in phases.items())
    print(
        f"{runner.__file__}: {args.case} {args.mode}: runs {[round(t, 2) for t in times]} s, best {min(times):.2f} s; "
        f"last run: {shown}, other {total - sum(phases.values()):.2f} s; outcome {outcome}"
    )
    if args.cycles:
        gc.collect()
        gc.disable()
        try:
            ai_trading_engine.run(case, args.mode)
            print(f"unreachable objects left by one run: {gc.collect()}")
        finally:
            gc.enable()


if __name__ == "__main__":
    main()
