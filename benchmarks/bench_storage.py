"""Storage benchmarks: bar ingest rows/s into PostgreSQL (binary COPY) and a one-million-bar
range read into NumPy, plus the same on SQLite for comparison. Prints JSON.

    python benchmarks/bench_storage.py [--pg-admin postgresql://postgres@127.0.0.1:5432/postgres]
                                       [--symbols 100] [--bars 10000] [--repeat 3] [--no-sqlite]

Each PostgreSQL measurement runs in a throw-away database ``ai_trading_bench_<random>`` (native
yearly partitions: the server has no TimescaleDB), dropped at the end. Ingest timings include
building the COPY stream from the arrays and the commit; each repeat starts from an empty
``bars`` table. The read returns a (T, N) BarPanel.
"""

from __future__ import annotations

import argparse
import json
import platform
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from ai_trading_storage import migrations
from ai_trading_storage.connection import create_db_engine
from ai_trading_storage.ingest import read_bars, write_bars
from psycopg import sql

from ai_trading_core.enums import Timeframe
from ai_trading_core.testing import random_walk_panel


def _measure(url: str, panel: Any, repeat: int, truncate: str) -> dict[str, Any]:
    engine = create_db_engine(url)
    migrations.upgrade(engine)
    rows = int(np.isfinite(panel.close).sum())
    ingest, reads = [], []
    for _ in range(repeat):
        with engine.begin() as conn:
            conn.exec_driver_sql(truncate)
        t0 = time.perf_counter()
        written = write_bars(engine, panel)
        ingest.append(time.perf_counter() - t0)
        assert written == rows
        t0 = time.perf_counter()
        back = read_bars(engine, panel.symbols, panel.timeframe)
        reads.append(time.perf_counter() - t0)
        assert back.shape == panel.shape and np.array_equal(back.close, panel.close)
    engine.dispose()
    best_in, best_rd = min(ingest), min(reads)
    return {
        "rows": rows,
        "ingest_seconds_best": round(best_in, 3),
        "ingest_seconds_median": round(statistics.median(ingest), 3),
        "ingest_rows_per_second": round(rows / best_in),
        "range_read_seconds_best": round(best_rd, 3),
        "range_read_seconds_median": round(statistics.median(reads), 3),
        "range_read_rows_per_second": round(rows / best_rd),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--symbols", type=int, default=100)
    ap.add_argument("--bars", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-sqlite", action="store_true")
    args = ap.parse_args()

    panel = random_walk_panel(args.bars, args.symbols, seed=7, timeframe=Timeframe.M1)
    result: dict[str, Any] = {
        "benchmark": "storage",
        "case": f"{args.symbols} symbols x {args.bars} one-minute bars",
        "python": platform.python_version(),
        "repeat": args.repeat,
    }
    name = f"ai_trading_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.pg_admin, autocommit=True) as admin:
        result["postgres_version"] = admin.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = f"{args.pg_admin.rsplit('/', 1)[0]}/{name}"
            result["postgresql_copy"] = _measure(url, panel, args.repeat, "TRUNCATE bars")
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            result["sqlite_executemany"] = _measure(url, panel, 1, "DELETE FROM bars")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
