"""Bar files for ``data import``: every check names the line, the symbol and the time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ai_trading_storage.cli.bars_file import BarFileReader, read_bar_file, write_bar_file

from ai_trading_core.errors import DataError
from ai_trading_core.testing import random_walk_panel

HEADER = "symbol,timestamp,open,high,low,close,volume\n"
GOOD = "SPY,2024-01-02T00:00:00Z,10,12,9,11,1000\n"


def _csv(tmp_path: Path, body: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body)
    return path


def _rows(path: Path, **kw: object) -> tuple[list[str], np.ndarray, np.ndarray]:
    chunks = read_bar_file(path, **kw)  # type: ignore[arg-type]
    symbols = [c.names[k] for c in chunks for k in c.codes]
    return symbols, np.concatenate([c.ts_ns for c in chunks]), np.concatenate([c.volume for c in chunks])


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("SPY,2024-01-03T00:00:00Z,-1,12,9,11,1000", "price not positive"),
        ("SPY,2024-01-03T00:00:00Z,0,12,9,11,1000", "price not positive"),
        ("SPY,2024-01-03T00:00:00Z,10,12,-9,11,1000", "price not positive"),
        ("SPY,2024-01-03T00:00:00Z,10,12,9,13,1000", "high below open or close"),
        ("SPY,2024-01-03T00:00:00Z,8,12,9,11,1000", "low above open or close"),
        ("SPY,2024-01-03T00:00:00Z,10,12,9,11,-5", "negative volume"),
        ("SPY,2024-01-03T00:00:00Z,10,12,9,11,nan", "missing or non-finite volume"),
        ("SPY,2024-01-03T00:00:00Z,10,12,9,11,inf", "missing or non-finite volume"),
        ("SPY,2024-01-03T00:00:00Z,10,12,9,11,", "missing or non-finite volume"),
        ("SPY,2024-01-03T00:00:00Z,10,,9,11,100", "missing or non-finite price"),
    ],
)
def test_inconsistent_bars_are_refused_naming_line_symbol_and_time(tmp_path: Path, row: str, reason: str) -> None:
    path = _csv(tmp_path, GOOD + row + "\n")
    with pytest.raises(DataError, match=reason) as err:
        read_bar_file(path)
    assert "line 3 (SPY 2024-01-03T00:00:00+00:00)" in str(err.value)


def test_mixed_utc_offsets_are_converted_to_utc(tmp_path: Path) -> None:
    # New York closes across the March 2024 daylight-saving change, then a UTC stamp
    path = _csv(
        tmp_path,
        "SPY,2024-03-08T16:00:00-05:00,10,12,9,11,1\n"
        "SPY,2024-03-11T16:00:00-04:00,10,12,9,11,2\n"
        "SPY,2024-03-12T20:00:00Z,10,12,9,11,3\n"
        "SPY,2024-03-13 21:30:00+01:30,10,12,9,11,4\n",
    )
    _, ts, _ = _rows(path)
    assert list(pd.to_datetime(ts, utc=True)) == [
        pd.Timestamp("2024-03-08T21:00Z"),
        pd.Timestamp("2024-03-11T20:00Z"),
        pd.Timestamp("2024-03-12T20:00Z"),
        pd.Timestamp("2024-03-13T20:00Z"),
    ]


def test_timestamps_without_offset_need_assume_utc(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD + "SPY,2024-01-03T00:00:00,10,12,9,11,1000\n")
    with pytest.raises(DataError, match=r"line 3 \(SPY\): timestamp '2024-01-03T00:00:00' has no timezone offset"):
        read_bar_file(path)
    _, ts, _ = _rows(path, assume_utc=True)
    assert list(pd.to_datetime(ts, utc=True)) == [
        pd.Timestamp("2024-01-02", tz="UTC"),
        pd.Timestamp("2024-01-03", tz="UTC"),
    ]
    dates = tmp_path / "dates.csv"
    dates.write_text("timestamp,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n")
    with pytest.raises(DataError, match="no timezone offset"):
        read_bar_file(dates, "X")
    assert len(read_bar_file(dates, "X", assume_utc=True)[0]) == 1


def test_unparseable_timestamp_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"line 3 \(SPY\): unparseable timestamp 'yesterday'"):
        read_bar_file(_csv(tmp_path, GOOD + "SPY,yesterday,10,12,9,11,1000\n"))


def test_truncated_last_line_is_detected(tmp_path: Path) -> None:
    cut = tmp_path / "cut.csv"
    cut.write_text(HEADER + GOOD + "SPY,2024-01-03T00:00:00Z,10,12,9,11,10")  # "1000" cut to "10"
    with pytest.raises(DataError, match="does not end with a newline: the file looks cut short") as err:
        read_bar_file(cut)
    assert "SPY,2024-01-03T00:00:00Z,10,12,9,11,10" in str(err.value)
    between = tmp_path / "between.csv"
    between.write_text(HEADER + GOOD + "SPY,2024-01-03T00:00:00Z,10,12,9,11,\n")  # cut between two fields
    with pytest.raises(DataError, match="line 3 .*missing or non-finite volume"):
        read_bar_file(between)
    short = tmp_path / "short.csv"
    short.write_text(HEADER + GOOD + "SPY,2024-01-03T00:00:00Z,10,12\n")
    with pytest.raises(DataError, match="cannot read bar file"):
        read_bar_file(short)


def test_duplicates_name_symbol_time_and_both_lines(tmp_path: Path) -> None:
    body = GOOD + "QQQ,2024-01-02T00:00:00Z,10,12,9,11,1000\n" + "SPY,2024-01-02T01:00:00+01:00,10,12,9,11,7\n"
    with pytest.raises(DataError, match=r"SPY at 2024-01-02T00:00:00\+00:00 appears twice \(lines 2 and 4\)"):
        read_bar_file(_csv(tmp_path, body))


def test_missing_columns_and_symbol(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing column"):
        read_bar_file(_write(tmp_path, "timestamp,close\n"), "X")
    nosym = _write(tmp_path, "timestamp,open,high,low,close\n2024-01-02T00:00Z,1,2,0.5,1.5\n")
    with pytest.raises(DataError, match="no symbol column; pass --symbol"):
        read_bar_file(nosym)
    symbols, _, volume = _rows(nosym, symbol="X")
    assert symbols == ["X"] and volume.tolist() == [0.0]  # no volume column: volume 0


def test_symbol_filter_and_empty_result(tmp_path: Path) -> None:
    path = _csv(tmp_path, GOOD + "QQQ,2024-01-02T00:00:00Z,10,12,9,11,1000\n")
    assert _rows(path, symbol="QQQ")[0] == ["QQQ"]
    with pytest.raises(DataError, match="no bars for IWM"):
        read_bar_file(path, symbol="IWM")


def test_many_symbols_are_grouped_once(tmp_path: Path) -> None:
    """2,000 symbols arrive as one chunk of rows tagged by symbol code, not one pass per
    symbol; values survive the trip exactly."""
    panel = random_walk_panel(5, 2000, seed=2)
    path = tmp_path / "wide.csv"
    assert write_bar_file(panel, path) == 10_000
    chunks = read_bar_file(path)
    assert len(chunks) == 1 and len(chunks[0].names) == 2000
    chunk = chunks[0]
    j = chunk.names.index(panel.symbols[1234])
    np.testing.assert_array_equal(chunk.close[chunk.codes == j], panel.close[:, 1234])
    np.testing.assert_array_equal(chunk.ts_ns[chunk.codes == j], panel.timestamps)


def test_parquet_round_trip(tmp_path: Path) -> None:
    panel = random_walk_panel(30, 3, seed=5)
    path = tmp_path / "bars.parquet"
    write_bar_file(panel, path)
    reader = BarFileReader(path)
    chunks = list(reader)
    assert reader.total == 90 and chunks[-1].position == 90
    assert sorted(reader.symbols) == sorted(panel.symbols)
    assert sum(len(c) for c in chunks) == 90


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cols.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_import_command_shows_progress_and_rate(tmp_path: Path, suffix: str) -> None:
    import click
    from ai_trading_storage.cli import register
    from click.testing import CliRunner

    root = click.Group("ai-trading")
    register(root)
    path = tmp_path / f"bars{suffix}"
    write_bar_file(random_walk_panel(40, 3, seed=9), path)
    url = f"sqlite:///{(tmp_path / 'db.sqlite').as_posix()}"
    res = CliRunner().invoke(root, ["data", "import", str(path), "--url", url, "--progress"])
    assert res.exit_code == 0, res.output
    assert f"importing bars{suffix}" in res.stderr and "100%" in res.stderr and "120 bars" in res.stderr
    assert "imported 120 bars (3 symbol(s), 1d)" in res.stdout and "bars/s)" in res.stdout
    quiet = CliRunner().invoke(root, ["data", "import", str(path), "--url", url, "--replace"])
    assert quiet.exit_code == 0 and "importing" not in quiet.stderr  # no terminal: no bar


def test_spreadsheet_export_with_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        b"\xef\xbb\xbfSymbol,Timestamp,Open,High,Low,Close,Volume\r\nSPY,2024-01-02T00:00:00Z,10,12,9,11,1000\r\n"
    )
    symbols, _, volume = _rows(path)
    assert symbols == ["SPY"] and volume.tolist() == [1000.0]
