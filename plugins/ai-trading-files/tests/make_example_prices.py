"""Writes ``examples/data/prices.csv``: a small, seeded, made-up daily OHLCV sample (three
symbols × 300 weekdays, long format) for trying the ``files`` data source.

Run from the repository root: ``python plugins/ai-trading-files/tests/make_example_prices.py``.
The test suite checks that the committed file equals this script's output.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SYMBOLS = ("AAA", "BBB", "CCC")
N_DAYS = 300
SEED = 20240101
HEADER = "timestamp,symbol,open,high,low,close,volume\n"


def example_prices_csv() -> str:
    """The file's text: every value rounded to the cent, OHLC consistent by construction
    (rounding is monotone, so low <= open, close <= high survives it)."""
    rng = np.random.default_rng(SEED)
    days = np.busday_offset(np.datetime64("2023-01-02", "D"), np.arange(N_DAYS))
    lines = [HEADER]
    for i, symbol in enumerate(SYMBOLS):
        close = (50.0 + 25.0 * i) * np.exp(np.cumsum(rng.normal(0.0003, 0.015, N_DAYS)))
        prev = np.concatenate([[close[0]], close[:-1]])
        open_ = prev * np.exp(rng.normal(0.0, 0.003, N_DAYS))
        high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.006, N_DAYS)))
        low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.006, N_DAYS)))
        volume = rng.integers(100_000, 2_000_000, N_DAYS)
        for k in range(N_DAYS):
            lines.append(
                f"{days[k]}T00:00:00Z,{symbol},{open_[k]:.2f},{high[k]:.2f},{low[k]:.2f},{close[k]:.2f},{volume[k]}\n"
            )
    return "".join(lines)


def main(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(example_prices_csv())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("examples/data/prices.csv"))
