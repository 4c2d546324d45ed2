"""Bar import benchmark: ``ai-trading data import`` end to end against the database write alone.

    python benchmarks/bench_import.py [--pg-admin postgresql://postgres@127.0.0.1:5432/postgres]
                                      [--symbols 500] [--days 2520] [--repeat 3] [--timescale off]
    python benchmarks/bench_import.py --parse-scaling 50,500,2000   # reading alone, same rows

The file is a long-format CSV of daily bars (symbol, timestamp with offset, OHLCV) written by
``ai-trading data export``'s writer from a seeded random walk. Each measurement loads it into
an empty ``bars`` table of a throw-away database ``ai_trading_bench_<random>`` (dropped at
the end), alternating the cases so that load on the machine hits them alike:

- ``database_write``: ``write_bars`` of the same rows already in NumPy arrays (binary COPY and
  commit): the ceiling for an import;
- ``import_in_process``: what the command does after start-up: read and check the file in
  chunks in a worker thread while the previous chunk is copied, then commit;
- ``import_command``: ``ai-trading data import FILE`` as a subprocess; its own reported time
  (file open to commit) and the process's wall time (which adds interpreter start-up and
  plugin loading).

Prints JSON; rates are rows per second of the best run, ratios are against ``database_write``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from ai_trading_storage import migrations
from ai_trading_storage.cli.bars_file import BarFileReader, write_bar_file
from ai_trading_storage.connection import create_db_engine
from ai_trading_storage.ingest import prefetched, write_bar_chunks, write_bars
from psycopg import sql

from ai_trading_core.enums import Timeframe
from ai_trading_core.testing import random_walk_panel


def _summary(rows: int, seconds: list[float]) -> dict[str, Any]:
    best = min(seconds)
    return {
        "seconds_best": round(best, 3),
        "seconds_median": round(statistics.median(seconds), 3),
        "rows_per_second": round(rows / best),
    }


def parse_scaling(rows: int, counts: str) -> dict[str, Any]:
    """Seconds to read and check ``rows`` daily bars spread over each symbol count."""
    out: dict[str, Any] = {"benchmark": "bar file read and check", "rows": rows, "seconds": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(c) for c in counts.split(",")):
            path = Path(tmp) / f"bars_{n}.csv"
            write_bar_file(random_walk_panel(rows // n, n, seed=11, timeframe=Timeframe.D1), path)
            t0 = time.perf_counter()
            assert sum(len(chunk) for chunk in BarFileReader(path)) == rows // n * n
            out["seconds"][f"{n} symbols"] = round(time.perf_counter() - t0, 3)
            path.unlink()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--symbols", type=int, default=500)
    ap.add_argument("--days", type=int, default=2520)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timescale", choices=("auto", "on", "off"), default="off")
    ap.add_argument(
        "--parse-scaling",
        default=None,
        help="instead: time reading and checking files of the same row count at these symbol counts "
        "(comma-separated, e.g. 50,500,2000); no database",
    )
    args = ap.parse_args()
    if args.parse_scaling:
        print(json.dumps(parse_scaling(args.symbols * args.days, args.parse_scaling), indent=2))
        return

    panel = random_walk_panel(args.days, args.symbols, seed=11, timeframe=Timeframe.D1)
    result: dict[str, Any] = {
        "benchmark": "bar import",
        "case": f"{args.symbols} symbols x {args.days} daily bars, CSV",
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU(s)",
        "repeat": args.repeat,
        "timescale": args.timescale,
    }
    name = f"ai_trading_bench_{secrets.token_hex(4)}"
    with tempfile.TemporaryDirectory() as tmp, psycopg.connect(args.pg_admin, autocommit=True) as admin:
        path = Path(tmp) / "bars.csv"
        rows = write_bar_file(panel, path)
        result["rows"] = rows
        result["file_megabytes"] = round(path.stat().st_size / 1e6, 1)
        result["postgres_version"] = admin.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            url = f"{args.pg_admin.rsplit('/', 1)[0]}/{name}"
            engine = create_db_engine(url)
            migrations.upgrade(engine, timescale=args.timescale)

            def empty() -> None:
                with engine.begin() as conn:
                    conn.exec_driver_sql("TRUNCATE bars")

            def database_write() -> float:
                t0 = time.perf_counter()
                assert write_bars(engine, panel) == rows
                return time.perf_counter() - t0

            def in_process() -> float:
                t0 = time.perf_counter()
                assert write_bar_chunks(engine, prefetched(BarFileReader(path)), "1d") == rows
                return time.perf_counter() - t0

            command_wall: list[float] = []
            cli = shutil.which("ai-trading", path=str(Path(sys.executable).parent)) or "ai-trading"

            def command() -> float:
                t0 = time.perf_counter()
                out = subprocess.run(
                    [cli, "data", "import", str(path), "--url", url, "--no-progress"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                command_wall.append(time.perf_counter() - t0)
                match = re.search(r"in ([0-9.]+) s", out)
                assert match is not None, out
                return float(match.group(1))

            t0 = time.perf_counter()
            parsed = sum(len(chunk) for chunk in BarFileReader(path))
            result["read_and_check_only_seconds"] = round(time.perf_counter() - t0, 3)
            assert parsed == rows
            cases: dict[str, Callable[[], float]] = {
                "database_write": database_write,
                "import_in_process": in_process,
                "import_command": command,
            }
            times: dict[str, list[float]] = {k: [] for k in cases}
            for _ in range(args.repeat):
                for key, case in cases.items():
                    empty()
                    times[key].append(case())
            engine.dispose()
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    base = min(times["database_write"])
    for key, seconds in times.items():
        result[key] = _summary(rows, seconds) | {"of_database_write": round(base / min(seconds), 3)}
    result["import_command"]["process_wall_seconds_best"] = round(min(command_wall), 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
