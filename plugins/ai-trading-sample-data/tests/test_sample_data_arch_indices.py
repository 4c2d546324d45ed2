"""The ``arch_indices`` source against an independent parse of the same shipped files."""

from __future__ import annotations

import gzip
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ai_trading_sample_data.arch_indices import (
    INDEX_FILES,
    ArchIndices,
    ArchIndicesParams,
    locate_index_file,
    read_index_csv,
)
from ai_trading_sample_data.panels import align_series

from ai_trading_core.enums import AssetClass, Timeframe
from ai_trading_core.errors import DataError, UnknownSymbolError
from ai_trading_core.protocols import DataSource

HEADER = "Date,Open,High,Low,Close,Adj Close,Volume\n"
GOOD = [
    "1/4/1999,10,11,9,10.5,10.5,100\n",
    "1/5/1999,10.5,12,10,11,11,200\n",
    "1/6/1999,11,11.5,10.5,11.2,11.2,0\n",
]


@pytest.fixture(scope="module")
def panel():
    return ArchIndices(ArchIndicesParams()).load()


def _reference(symbol: str) -> pd.DataFrame:
    return pd.read_csv(locate_index_file(INDEX_FILES[symbol].resource))


def test_arch_indices_satisfies_the_data_source_protocol() -> None:
    assert isinstance(ArchIndices(ArchIndicesParams()), DataSource)


@pytest.mark.parametrize("symbol", ["SP500", "NASDAQ"])
def test_arch_indices_values_match_an_independent_pandas_parse(panel, symbol: str) -> None:
    ref = _reference(symbol)
    j = panel.symbols.index(symbol)
    dates = pd.to_datetime(ref["Date"], format="%m/%d/%Y").dt.tz_localize("UTC").dt.as_unit("ns")
    expected_ts = dates.astype("int64").to_numpy()
    np.testing.assert_array_equal(panel.timestamps, expected_ts)
    for field in ("open", "high", "low", "close", "volume"):
        column = field.capitalize()
        np.testing.assert_array_equal(getattr(panel, field)[:, j], ref[column].to_numpy(dtype=float))


def test_arch_indices_covers_1999_to_2018_at_utc_midnight(panel) -> None:
    assert panel.shape == (5031, 2)
    assert panel.timeframe is Timeframe.D1
    assert panel.slice_at(0).time == datetime(1999, 1, 4, tzinfo=UTC)
    assert panel.slice_at(len(panel.timestamps) - 1).time == datetime(2018, 12, 31, tzinfo=UTC)
    assert np.all(panel.timestamps % (86_400 * 10**9) == 0)
    # Hand-checked first row of the S&P 500 file: 1/4/1999,1229.22998,1248.810059,1219.099976,1228.099976
    j = panel.symbols.index("SP500")
    assert (panel.open[0, j], panel.high[0, j], panel.low[0, j], panel.close[0, j]) == (
        1229.22998, 1248.810059, 1219.099976, 1228.099976,
    )


def test_arch_indices_adj_close_equals_close_as_documented() -> None:
    for symbol in INDEX_FILES:
        ref = _reference(symbol)
        assert (ref["Adj Close"] == ref["Close"]).all()


def test_arch_indices_instruments_are_fractional_index_units(panel) -> None:
    for symbol in ("SP500", "NASDAQ"):
        inst = panel.instruments[symbol]
        assert inst.asset_class is AssetClass.INDEX
        assert inst.tick_size == Decimal("0.01")
        assert inst.lot_size == Decimal("0.0001")
        assert "arch" in (inst.description or "")
    custom = ArchIndices(ArchIndicesParams(symbols=["NASDAQ"], lot_size=Decimal("1"))).load()
    assert custom.symbols == ("NASDAQ",)
    assert custom.instruments["NASDAQ"].lot_size == Decimal("1")


def test_arch_indices_load_filters_an_inclusive_range() -> None:
    src = ArchIndices(ArchIndicesParams(symbols=["SP500"]))
    week = src.load(datetime(2008, 9, 15, tzinfo=UTC), datetime(2008, 9, 19, tzinfo=UTC))
    assert [s.time.day for s in week.slices()] == [15, 16, 17, 18, 19]
    ref = _reference("SP500").set_index("Date")
    assert week.close[0, 0] == ref.loc["9/15/2008", "Close"]
    assert src.load(start=datetime(2018, 12, 31, tzinfo=UTC)).shape == (1, 1)
    assert src.load(end=datetime(1999, 1, 3, tzinfo=UTC)).shape == (0, 1)


def test_arch_indices_rejects_naive_range_bounds() -> None:
    with pytest.raises(DataError, match="naive"):
        ArchIndices(ArchIndicesParams()).load(datetime(2008, 1, 1))


def test_arch_indices_unknown_symbol_lists_the_available_ones() -> None:
    with pytest.raises(UnknownSymbolError, match=r"unknown symbol\(s\) DJIA; available: SP500, NASDAQ"):
        ArchIndices(ArchIndicesParams(symbols=["SP500", "DJIA"]))


def test_arch_indices_union_and_intersection_agree_on_identical_calendars(panel) -> None:
    union = ArchIndices(ArchIndicesParams(align="union")).load()
    np.testing.assert_array_equal(union.timestamps, panel.timestamps)
    np.testing.assert_array_equal(union.close, panel.close)


def test_arch_indices_loading_does_not_import_the_arch_package() -> None:
    code = (
        "import sys\n"
        "from ai_trading_sample_data import ArchIndices, ArchIndicesParams\n"
        "ArchIndices(ArchIndicesParams()).load()\n"
        "print(sorted(m for m in sys.modules if m == 'arch' or m.startswith('arch.') or m == 'pandas'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_align_series_intersection_and_union_by_hand() -> None:
    a_ts = np.array([1, 2, 4], dtype=np.int64)
    b_ts = np.array([2, 3, 4, 5], dtype=np.int64)
    a = np.array([[10.0], [20.0], [40.0]])
    b = np.array([[200.0], [300.0], [400.0], [500.0]])
    idx, (vals,) = align_series([a_ts, b_ts], [a, b], how="intersection")
    assert idx.tolist() == [2, 4]
    assert vals.tolist() == [[20.0, 200.0], [40.0, 400.0]]
    idx, (vals,) = align_series([a_ts, b_ts], [a, b], how="union")
    assert idx.tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_array_equal(
        vals, [[10.0, np.nan], [20.0, 200.0], [np.nan, 300.0], [40.0, 400.0], [np.nan, 500.0]]
    )


# ---------------------------------------------------------------- validation of the parser
def _write(tmp_path: Path, lines: list[str], name: str = "idx.csv.gz", header: str = HEADER) -> Path:
    path = tmp_path / name
    with gzip.open(path, "wt") as fh:
        fh.write(header + "".join(lines))
    return path


def test_read_index_csv_parses_a_good_file(tmp_path: Path) -> None:
    s = read_index_csv(_write(tmp_path, GOOD))
    assert s.close.tolist() == [10.5, 11.0, 11.2]
    assert s.timestamps[0] == int(pd.Timestamp("1999-01-04", tz="UTC").value)


@pytest.mark.parametrize(
    ("row", "bad_line", "message"),
    [
        (2, "1/5/1999,10.5,12,10,nan,nan,200\n", "NaN or infinite price"),
        (2, "1/5/1999,10.5,12,-10,11,11,200\n", "non-positive price"),
        (2, "1/5/1999,0,12,10,11,11,200\n", "non-positive price"),
        (2, "1/5/1999,10.5,9,10,9.5,9.5,200\n", "high below low"),
        (2, "1/5/1999,13,12,10,11,11,200\n", "open outside"),
        (2, "1/5/1999,10.5,12,10,9,9,200\n", "close outside"),
        (2, "1/5/1999,10.5,12,10,11,11,-5\n", "negative volume"),
        (2, "13/5/1999,10.5,12,10,11,11,200\n", "unparseable date '13/5/1999'"),
        (2, "1/5/1999,10.5,abc,10,11,11,200\n", "non-numeric"),
        (2, "1/5/1999,10.5\n", "2 fields"),
        (2, "1/4/1999,10.5,12,10,11,11,200\n", "duplicate or unsorted"),
        (2, "1/3/1999,10.5,12,10,11,11,200\n", "duplicate or unsorted"),
    ],
)
def test_read_index_csv_names_file_and_row(tmp_path: Path, row: int, bad_line: str, message: str) -> None:
    lines = list(GOOD)
    lines[row - 1] = bad_line
    with pytest.raises(DataError) as info:
        read_index_csv(_write(tmp_path, lines))
    text = str(info.value)
    assert text.startswith(f"idx.csv.gz row {row} (line {row + 1})")
    assert message in text


def test_read_index_csv_reports_missing_columns_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"idx.csv.gz: missing column\(s\) High, Volume"):
        read_index_csv(_write(tmp_path, [], header="Date,Open,Low,Close,Adj Close\n"))
    with pytest.raises(DataError, match="idx.csv.gz: no data rows"):
        read_index_csv(_write(tmp_path, []))
    with pytest.raises(DataError, match="empty.csv.gz: empty file"):
        read_index_csv(_write(tmp_path, [], name="empty.csv.gz", header=""))
