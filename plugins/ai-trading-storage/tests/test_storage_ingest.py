from __future__ import annotations

import re
import threading
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from ai_trading_storage.cli import register
from ai_trading_storage.connection import create_db_engine
from ai_trading_storage.ingest import DuplicateBarError, read_bars, write_bars
from ai_trading_storage.ingest.pgcopy import HEADER, READ_DTYPE, TRAILER, decode_rows, encode_rows
from ai_trading_storage.timescale import existing_partitions
from click.testing import CliRunner

from ai_trading_core.enums import Timeframe
from ai_trading_core.market import to_ns
from ai_trading_core.models import utc
from ai_trading_core.testing import random_walk_panel


def test_binary_copy_layout_by_hand() -> None:
    row = encode_rows(
        "AB",
        "1d",
        np.array([946_684_800_000_000_000 + 1_000]),
        *(np.array([v]) for v in (1.0, 2.0, 0.5, 1.5, 10.0)),
    )
    # field count, then (length, value) per field in network byte order
    assert row[:2] == (8).to_bytes(2, "big")
    assert row[2:8] == (2).to_bytes(4, "big") + b"AB"
    assert row[8:14] == (2).to_bytes(4, "big") + b"1d"
    assert row[14:26] == (8).to_bytes(4, "big") + (1).to_bytes(8, "big")  # 1 µs after 2000-01-01
    assert len(row) == 2 + 6 + 6 + 12 * 6
    out = (
        HEADER
        + b"".join(
            [
                (7).to_bytes(2, "big"),
                (4).to_bytes(4, "big"),
                (3).to_bytes(4, "big"),
                (8).to_bytes(4, "big"),
                (5).to_bytes(8, "big"),
            ]
            + [(8).to_bytes(4, "big") + np.array([x], ">f8").tobytes() for x in (1, 2, 3, 4, 5)]
        )
        + TRAILER
    )
    rows = decode_rows(out)
    assert READ_DTYPE.itemsize == 82 and len(rows) == 1
    assert rows["sym"][0] == 3 and rows["ts"][0] == 5 and rows["close"][0] == 4.0


def test_write_read_round_trip(db_url: str) -> None:
    engine = create_db_engine(db_url)
    panel = random_walk_panel(600, 4, seed=3)
    holes = panel.close.copy()
    panel.close[[10, 11, 200], [0, 0, 3]] = np.nan  # missing bars
    assert write_bars(engine, panel) == 600 * 4 - 3
    back = read_bars(engine, panel.symbols, Timeframe.D1)
    assert back.symbols == panel.symbols
    np.testing.assert_array_equal(back.timestamps, panel.timestamps)
    for name in ("open", "high", "low", "close"):
        expected = getattr(panel, name).copy()
        expected[np.isnan(panel.close)] = np.nan
        np.testing.assert_array_equal(getattr(back, name), expected)
    assert not np.array_equal(holes, back.close, equal_nan=True)
    # inclusive range on both ends, a subset of symbols in the caller's order
    lo, hi = int(panel.timestamps[100]), int(panel.timestamps[149])
    part = read_bars(engine, [panel.symbols[2], panel.symbols[0]], "1d", lo, hi)
    assert part.shape == (50, 2)
    np.testing.assert_array_equal(part.close[:, 0], panel.close[100:150, 2])
    assert read_bars(engine, ["NOPE"], "1d").shape == (0, 1)
    engine.dispose()


def test_conflicts_fail_or_replace(db_url: str) -> None:
    engine = create_db_engine(db_url)
    panel = random_walk_panel(50, 2, seed=4)
    write_bars(engine, panel)
    first = pd.Timestamp(int(panel.timestamps[0]), tz="UTC").isoformat()
    with pytest.raises(
        DuplicateBarError, match=f"bar {panel.symbols[0]} 1d at {re.escape(first)} already exists"
    ) as err:
        write_bars(engine, panel)
    assert "--replace" in str(err.value) and "partition" not in str(err.value)
    assert (err.value.symbol, err.value.timeframe, err.value.ts) == (panel.symbols[0], "1d", first)
    bumped = random_walk_panel(50, 2, seed=5)
    assert write_bars(engine, bumped, on_conflict="replace") == 100
    np.testing.assert_array_equal(read_bars(engine, bumped.symbols, "1d").close, bumped.close)
    engine.dispose()


@pytest.mark.postgres
def test_yearly_partitions_are_created_on_demand(pg_url: str) -> None:
    engine = create_db_engine(pg_url)
    panel = random_walk_panel(24 * 400, 1, seed=6, timeframe=Timeframe.H1, start_ns=to_ns(utc(2019, 12, 30)))
    write_bars(engine, panel)
    with engine.connect() as conn:
        assert existing_partitions(conn) == {"bars_y2019", "bars_y2020", "bars_y2021"}
        per_partition = dict(
            conn.execute(sa.text("SELECT tableoid::regclass::text, count(*) FROM bars GROUP BY 1")).all()
        )
    assert per_partition["bars_y2019"] == 48 and sum(per_partition.values()) == 24 * 400
    back = read_bars(engine, panel.symbols, "1h", utc(2020, 12, 31, 23), utc(2021, 1, 1, 1))
    assert back.shape == (3, 1)
    engine.dispose()


def test_cli_import_export_round_trip(db_url: str, tmp_path: Path) -> None:
    root = click.Group("ai-trading")
    register(root)
    src = tmp_path / "spy.csv"
    stamps = pd.date_range("2024-01-02", periods=5, freq="D", tz="UTC")
    pd.DataFrame(
        {
            "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "open": [1, 2, 3, 4, 5.5],
            "high": [2, 3, 4, 5, 6.5],
            "low": [0.5, 1, 2, 3, 4.5],
            "close": [1.5, 2.5, 3.5, 4.5, 6.0],
            "volume": [10, 20, 30, 40, 50],
        }
    ).to_csv(src, index=False)
    runner = CliRunner()
    res = runner.invoke(root, ["data", "import", str(src), "--url", db_url, "--symbol", "SPY"])
    assert res.exit_code == 0, res.output
    assert "imported 5 bars" in res.output
    out = tmp_path / "out.csv"
    res = runner.invoke(
        root,
        [
            "data",
            "export",
            "--url",
            db_url,
            "--symbol",
            "SPY",
            "--start",
            "2024-01-03T00:00:00+00:00",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out)
    assert list(frame["close"]) == [2.5, 3.5, 4.5, 6.0]
    assert pd.to_datetime(frame["timestamp"]).iloc[0] == pd.Timestamp("2024-01-03", tz="UTC")
    again = runner.invoke(root, ["data", "import", str(src), "--url", db_url, "--symbol", "SPY"])
    assert again.exit_code != 0
    assert "bar SPY 1d at 2024-01-02T00:00:00+00:00 already exists" in again.output and "--replace" in again.output
    # the read-ahead thread stopped with the failed import
    assert not [t for t in threading.enumerate() if t.name == "ai-trading-prefetch"]
    assert (
        runner.invoke(root, ["data", "import", str(src), "--url", db_url, "--symbol", "SPY", "--replace"]).exit_code
        == 0
    )
