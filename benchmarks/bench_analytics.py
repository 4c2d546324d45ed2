"""Time the analytics metrics over 500 assets x 10 years of daily returns.

Prints one JSON document: the median, minimum and maximum wall time of
``PerformanceCalculator.compute`` (every return metric plus the benchmark-relative ones) over
a (2520, 500) float64 matrix, and of the same work column by column for comparison.
Goal: <= 50 ms for the vectorised call.

    python benchmarks/bench_analytics.py [--assets 500] [--bars 2520] [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import timeit

import numpy as np
from ai_trading_analytics import PerformanceCalculator


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--assets", type=int, default=500)
    parser.add_argument("--bars", type=int, default=2520)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    rng = np.random.default_rng(42)
    returns = rng.standard_t(4, size=(args.bars, args.assets)) * 0.01 + 0.0003
    benchmark = rng.normal(0.0003, 0.01, args.bars)
    calc = PerformanceCalculator()
    calc.compute(returns, benchmark)  # warm-up

    vectorised = timeit.repeat(lambda: calc.compute(returns, benchmark), number=1, repeat=args.repeat)
    per_column = timeit.repeat(
        lambda: [calc.compute(returns[:, j], benchmark) for j in range(args.assets)],
        number=1,
        repeat=max(3, args.repeat // 5),
    )
    ms = [t * 1000 for t in vectorised]
    col_ms = [t * 1000 for t in per_column]
    print(
        json.dumps(
            {
                "benchmark": "analytics.compute",
                "shape": [args.bars, args.assets],
                "metrics": len(calc.compute(returns[:, :1], benchmark)),
                "repeat": args.repeat,
                "vectorised_ms": {
                    "median": round(statistics.median(ms), 2),
                    "min": round(min(ms), 2),
                    "max": round(max(ms), 2),
                },
                "column_by_column_ms": {"median": round(statistics.median(col_ms), 2)},
                "goal_ms": 50,
                "python": platform.python_version(),
                "numpy": np.__version__,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
