"""Every validation error names the file and the 1-based data row (and, for CSV, the line)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from ai_trading_files import FileDataSource, FilesParams

from ai_trading_core.errors import ConfigError, DataError, UnknownSymbolError

HEADER = "timestamp,open,high,low,close,volume\n"
GOOD = [
    "2021-03-01T00:00:00Z,10,11,9,10.5,100\n",
    "2021-03-02T00:00:00Z,10.5,12,10,11,200\n",
    "2021-03-03T00:00:00Z,11,11.5,10.5,11.2,0\n",
]


def _csv(tmp_path: Path, lines: list[str], header: str = HEADER, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + "".join(lines))
    return path


def _load(path: Path, **params: object):
    return FileDataSource(FilesParams(path=path, **params)).load()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("row", "line", "message"),
    [
        (2, "2021-03-02T00:00:00Z,10.5,12,10,,200\n", "missing close price (NaN or empty)"),
        (2, "2021-03-02T00:00:00Z,nan,12,10,11,200\n", "missing open price (NaN or empty)"),
        (2, "2021-03-02T00:00:00Z,10.5,12,ten,11,200\n", "low is not a number ('ten')"),
        (2, "2021-03-02T00:00:00Z,10.5,12,0,11,200\n", "non-positive low price 0.0"),
        (3, "2021-03-03T00:00:00Z,-1,11.5,10.5,11.2,0\n", "non-positive open price -1.0"),
        (2, "2021-03-02T00:00:00Z,10.5,9,10,9.5,200\n", "high 9.0 is below low 10.0"),
        (2, "2021-03-02T00:00:00Z,12.5,12,10,11,200\n", "open 12.5 is outside [low 10.0, high 12.0]"),
        (2, "2021-03-02T00:00:00Z,10.5,12,10,9.99,200\n", "close 9.99 is outside [low 10.0, high 12.0]"),
        (2, "2021-03-02T00:00:00Z,10.5,12,10,11,-3\n", "negative volume -3.0"),
        (2, "2021-03-02T00:00:00Z,10.5,12,10,11,\n", "missing volume (NaN or empty)"),
        (2, "2021-03-01T00:00:00Z,10.5,12,10,11,200\n", "duplicate timestamp 2021-03-01T00:00:00+00:00"),
        (2, "2021-02-27T00:00:00Z,10.5,12,10,11,200\n", "timestamps not sorted: 2021-02-27T00:00:00+00:00"),
        (2, "2021-03-32T00:00:00Z,10.5,12,10,11,200\n", "unparseable timestamp '2021-03-32T00:00:00Z'"),
        (2, "yesterday,10.5,12,10,11,200\n", "unparseable timestamp 'yesterday'"),
        (2, ",10.5,12,10,11,200\n", "unparseable timestamp"),
        (2, "\n", "unparseable timestamp"),
        (2, "2021-03-02 00:00:00,10.5,12,10,11,200\n", "naive timestamp 2021-03-02 00:00:00 (no UTC offset)"),
        (2, "2021-03-02,10.5,12,10,11,200\n", "naive timestamp 2021-03-02 (no UTC offset)"),
    ],
)
def test_files_csv_errors_name_file_and_row(tmp_path: Path, row: int, line: str, message: str) -> None:
    lines = list(GOOD)
    lines[row - 1] = line
    with pytest.raises(DataError) as info:
        _load(_csv(tmp_path, lines))
    text = str(info.value)
    assert text.startswith(f"bad.csv row {row} (line {row + 1}): "), text
    assert message in text, text


def test_files_numeric_timestamps_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^bad.csv row 1 \(line 2\): timestamp column .* is numeric"):
        _load(_csv(tmp_path, ["1614556800,10,11,9,10.5,100\n"]))


def test_files_symbol_na_is_a_symbol_not_a_missing_value(tmp_path: Path) -> None:
    lines = ["2021-03-01T00:00:00Z,NA,10,11,9,10.5,100\n", "2021-03-01T00:00:00Z,NULL,10,11,9,10.5,100\n"]
    panel = _load(_csv(tmp_path, lines, header="timestamp,symbol,open,high,low,close,volume\n"))
    assert panel.symbols == ("NA", "NULL")


def test_files_naive_timestamp_message_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match='assume_timezone') as info:
        _load(_csv(tmp_path, ["2021-03-01,10,11,9,10.5,100\n"]))
    assert str(info.value).startswith("bad.csv row 1 (line 2)")


def test_files_assume_timezone_converts_naive_timestamps(tmp_path: Path) -> None:
    lines = ["2021-03-01 09:30,10,11,9,10.5,100\n", "2021-03-15 09:30,10.5,12,10,11,200\n"]
    utc = _load(_csv(tmp_path, lines), assume_timezone="UTC")
    assert [s.time for s in utc.slices()] == [
        datetime(2021, 3, 1, 9, 30, tzinfo=UTC), datetime(2021, 3, 15, 9, 30, tzinfo=UTC)
    ]
    # New York is UTC-5 before the 2021-03-14 daylight-saving change and UTC-4 after it.
    ny = _load(_csv(tmp_path, lines), assume_timezone="America/New_York")
    assert [s.time for s in ny.slices()] == [
        datetime(2021, 3, 1, 14, 30, tzinfo=UTC), datetime(2021, 3, 15, 13, 30, tzinfo=UTC)
    ]


def test_files_nonexistent_local_time_is_an_error(tmp_path: Path) -> None:
    lines = ["2021-03-14 02:30,10,11,9,10.5,100\n"]  # skipped by the spring-forward in New York
    with pytest.raises(DataError, match=r"bad.csv row 1 \(line 2\): .*does not exist in America/New_York"):
        _load(_csv(tmp_path, lines), assume_timezone="America/New_York")


def test_files_offsets_are_converted_to_utc(tmp_path: Path) -> None:
    lines = ["2021-03-01T09:30:00-05:00,10,11,9,10.5,100\n", "2021-03-01T16:00:00+0100,10.5,12,10,11,200\n"]
    panel = _load(_csv(tmp_path, lines))
    assert [s.time for s in panel.slices()] == [
        datetime(2021, 3, 1, 14, 30, tzinfo=UTC), datetime(2021, 3, 1, 15, 0, tzinfo=UTC)
    ]


def test_files_missing_columns_are_listed(tmp_path: Path) -> None:
    path = _csv(tmp_path, ["2021-03-01T00:00:00Z,10,10.5\n"], header="timestamp,open,close\n")
    with pytest.raises(DataError) as info:
        _load(path)
    assert str(info.value) == (
        "bad.csv: missing column(s) high, low, volume (columns found: timestamp, open, close)"
    )


def test_files_empty_file_and_header_only(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^bad.csv: empty file \(no header row\)$"):
        _load(_csv(tmp_path, [], header=""))
    with pytest.raises(DataError, match=r"^bad.csv: empty file \(a header but no data rows\)$"):
        _load(_csv(tmp_path, []))


def test_files_unknown_symbol_lists_the_available(tmp_path: Path) -> None:
    for name in ("AAA.csv", "BBB.csv"):
        _csv(tmp_path, GOOD, name=name)
    with pytest.raises(UnknownSymbolError, match="unknown symbol.*ZZZ; available: AAA, BBB"):
        _load(tmp_path, symbols=["AAA", "ZZZ"])


def test_files_errors_in_a_directory_name_the_symbol_file(tmp_path: Path) -> None:
    _csv(tmp_path, GOOD, name="AAA.csv")
    _csv(tmp_path, [GOOD[0], GOOD[0]], name="BBB.csv")
    with pytest.raises(DataError, match=r"^BBB.csv row 2 \(line 3\): duplicate timestamp"):
        _load(tmp_path)
    assert _load(tmp_path, symbols=["AAA"]).symbols == ("AAA",)  # only requested files are read


def test_files_long_format_rows_are_numbered_in_the_file(tmp_path: Path) -> None:
    lines = [
        "2021-03-01T00:00:00Z,AAA,10,11,9,10.5,100\n",
        "2021-03-01T00:00:00Z,BBB,10,11,9,10.5,100\n",
        "2021-03-02T00:00:00Z,AAA,10,11,9,10.5,100\n",
        "2021-03-01T00:00:00Z,BBB,10,11,9,10.5,100\n",
    ]
    with pytest.raises(DataError) as info:
        _load(_csv(tmp_path, lines, header="timestamp,symbol,open,high,low,close,volume\n"))
    assert str(info.value) == (
        "bad.csv row 4 (line 5): duplicate timestamp 2021-03-01T00:00:00+00:00 for BBB (also at row 2)"
    )
    lines[1] = "2021-03-01T00:00:00Z,,10,11,9,10.5,100\n"
    with pytest.raises(DataError, match=r"bad.csv row 2 \(line 3\): missing symbol"):
        _load(_csv(tmp_path, lines, header="timestamp,symbol,open,high,low,close,volume\n"))


def test_files_two_files_for_one_symbol_is_an_error(tmp_path: Path) -> None:
    _csv(tmp_path, GOOD, name="AAA.csv")
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "AAA.parquet")
    with pytest.raises(DataError, match=r"symbol AAA has two files \(AAA.csv, AAA.parquet\)"):
        _load(tmp_path)


def test_files_missing_path_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file or directory"):
        _load(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="no .csv, .csv.gz or .parquet files"):
        _load(tmp_path)


# ---------------------------------------------------------------- parquet
def _parquet(tmp_path: Path, frame: pd.DataFrame, name: str = "bad.parquet") -> Path:
    path = tmp_path / name
    frame.to_parquet(path)
    return path


def _frame(**overrides: list[object]) -> pd.DataFrame:
    data: dict[str, list[object]] = {
        "timestamp": list(pd.date_range("2021-03-01", periods=3, freq="D", tz="UTC")),
        "open": [10.0, 10.5, 11.0], "high": [11.0, 12.0, 11.5], "low": [9.0, 10.0, 10.5],
        "close": [10.5, 11.0, 11.2], "volume": [100.0, 200.0, 0.0],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def test_files_parquet_errors_name_file_and_row(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^bad.parquet row 3: high 10.0 is below low 10.5$"):
        _load(_parquet(tmp_path, _frame(high=[11.0, 12.0, 10.0])))
    with pytest.raises(DataError, match=r"^bad.parquet row 2: missing open price"):
        _load(_parquet(tmp_path, _frame(open=[10.0, float("nan"), 11.0])))


def test_files_parquet_naive_datetimes_need_assume_timezone(tmp_path: Path) -> None:
    naive = list(pd.date_range("2021-03-01", periods=3, freq="D"))
    path = _parquet(tmp_path, _frame(timestamp=naive))  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"^bad.parquet row 1: naive timestamp 2021-03-01 00:00:00"):
        _load(path)
    panel = _load(path, assume_timezone="UTC")
    assert panel.slice_at(0).time == datetime(2021, 3, 1, tzinfo=UTC)


def test_files_parquet_without_pyarrow_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _parquet(tmp_path, _frame())
    # A None entry in sys.modules makes ``import pyarrow`` raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ConfigError, match=r"needs pyarrow.*pip install 'ai-trading-files\[parquet\]'"):
        _load(path)


def test_files_params_reject_unknown_keys_zones_and_timeframes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Extra inputs"):
        FilesParams(path=tmp_path, tz="UTC")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        FilesParams(path=tmp_path, assume_timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="unknown timeframe"):
        FilesParams(path=tmp_path, timeframe="2d")
