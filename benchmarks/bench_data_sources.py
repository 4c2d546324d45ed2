"""Timing of the first-party data sources (run by hand; speed is never asserted in tests).

    python benchmarks/bench_data_sources.py

Measures: the real arch index files (parse + validate + align), the synthetic universe at
500 symbols × 2,520 daily bars and 1 symbol × 1,000,000 minute bars, and the ``files`` source
reading a 3-symbol directory of CSV and Parquet files (1,000,000 rows in total).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from ai_trading_files import FileDataSource, FilesParams
from ai_trading_sample_data import ArchIndices, ArchIndicesParams, SyntheticParams, synthetic_panel


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    arch = best_of(lambda: ArchIndices(ArchIndicesParams()).load())
    print(f"arch_indices, 2 x 5,031 daily bars:       {arch:.3f} s")
    daily = SyntheticParams(n_symbols=500, n_bars=2520)
    print(f"synthetic 500 x 2,520 daily bars:         {best_of(lambda: synthetic_panel(daily, 1)):.3f} s")
    minute = SyntheticParams(n_symbols=1, n_bars=1_000_000, timeframe="1m")
    print(f"synthetic 1 x 1,000,000 minute bars:      {best_of(lambda: synthetic_panel(minute, 1)):.3f} s")

    panel = synthetic_panel(SyntheticParams(n_symbols=3, n_bars=333_334, timeframe="1m"), 2)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("csv", "parquet"):
            folder = Path(tmp) / kind
            folder.mkdir()
            for j, symbol in enumerate(panel.symbols):
                frame = pd.DataFrame({
                    "timestamp": pd.to_datetime(panel.timestamps, utc=True),
                    **{f: getattr(panel, f)[:, j] for f in ("open", "high", "low", "close", "volume")},
                })
                if kind == "csv":
                    frame.to_csv(folder / f"{symbol}.csv", index=False, date_format="%Y-%m-%dT%H:%M:%SZ")
                else:
                    frame.to_parquet(folder / f"{symbol}.parquet")
            params = FilesParams(path=folder, timeframe="1m")
            seconds = best_of(lambda p=params: FileDataSource(p).load(), repeat=2)
            loaded = FileDataSource(params).load()
            assert np.allclose(loaded.close, panel.close)
            print(f"files {kind:<7} 3 x 333,334 minute bars:   {seconds:.3f} s")


if __name__ == "__main__":
    main()
