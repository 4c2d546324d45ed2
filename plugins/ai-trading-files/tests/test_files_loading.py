"""Round trips through CSV and Parquet, alignment, column mapping, registration and the example file."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ai_trading_files import FileDataSource, FilesParams

from ai_trading_core.enums import AssetClass, Timeframe
from ai_trading_core.market import BarPanel, to_datetime
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.protocols import DataSource
from ai_trading_core.registry import BuildContext
from ai_trading_core.testing import random_walk_panel

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "data" / "prices.csv"


def _load(path: Path, **params: object) -> BarPanel:
    return FileDataSource(FilesParams(path=path, **params)).load()  # type: ignore[arg-type]


def _frame_of(panel: BarPanel, j: int) -> pd.DataFrame:
    return pd.DataFrame({
        "timestamp": pd.to_datetime(panel.timestamps, utc=True),
        **{f: getattr(panel, f)[:, j] for f in ("open", "high", "low", "close", "volume")},
    })


def _write_csv(path: Path, panel: BarPanel, j: int) -> None:
    # repr() of a float round-trips exactly, so the comparison below can be exact.
    lines = ["timestamp,open,high,low,close,volume"]
    for i, ts in enumerate(panel.timestamps):
        row = [repr(float(getattr(panel, f)[i, j])) for f in ("open", "high", "low", "close", "volume")]
        lines.append(to_datetime(ts).isoformat().replace("+00:00", "Z") + "," + ",".join(row))
    path.write_text("\n".join(lines) + "\n")


def _assert_same(a: BarPanel, b: BarPanel) -> None:
    assert a.symbols == b.symbols
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    for f in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


@pytest.fixture
def panel() -> BarPanel:
    return random_walk_panel(n_bars=120, n_symbols=3, seed=4, symbols=("AAA", "BBB", "CCC"))


def test_files_satisfies_the_data_source_protocol(tmp_path: Path) -> None:
    assert isinstance(FileDataSource(FilesParams(path=tmp_path)), DataSource)


def test_files_csv_directory_round_trip(tmp_path: Path, panel: BarPanel) -> None:
    for j, s in enumerate(panel.symbols):
        _write_csv(tmp_path / f"{s}.csv", panel, j)
    loaded = _load(tmp_path)
    _assert_same(loaded, panel)
    assert loaded.timeframe is Timeframe.D1
    assert set(loaded.instruments) == set(panel.symbols)


def test_files_parquet_directory_round_trip(tmp_path: Path, panel: BarPanel) -> None:
    for j, s in enumerate(panel.symbols):
        _frame_of(panel, j).to_parquet(tmp_path / f"{s}.parquet")
    _assert_same(_load(tmp_path), panel)


def test_files_single_long_format_file_round_trip(tmp_path: Path, panel: BarPanel) -> None:
    frames = [_frame_of(panel, j).assign(symbol=s) for j, s in enumerate(panel.symbols)]
    long = pd.concat(frames, ignore_index=True)
    long.to_parquet(tmp_path / "all.parquet")
    _assert_same(_load(tmp_path / "all.parquet"), panel)
    # Rows interleaved by date load the same panel: only each symbol's own order matters.
    long.sort_values(["timestamp", "symbol"], kind="stable").to_parquet(tmp_path / "by_date.parquet")
    _assert_same(_load(tmp_path / "by_date.parquet"), panel)


def test_files_single_file_without_symbol_column_takes_the_file_name(tmp_path: Path, panel: BarPanel) -> None:
    _write_csv(tmp_path / "BRK.B.csv", panel, 0)
    loaded = _load(tmp_path / "BRK.B.csv")
    assert loaded.symbols == ("BRK.B",)
    np.testing.assert_array_equal(loaded.close[:, 0], panel.close[:, 0])


def test_files_alignment_union_fills_nan_intersection_keeps_common(tmp_path: Path, panel: BarPanel) -> None:
    _write_csv(tmp_path / "AAA.csv", panel.select(end=int(panel.timestamps[79])), 0)  # bars 0..79
    _write_csv(tmp_path / "BBB.csv", panel.select(start=int(panel.timestamps[40])), 1)  # bars 40..119
    union = _load(tmp_path)
    np.testing.assert_array_equal(union.timestamps, panel.timestamps)
    assert np.isnan(union.close[80:, 0]).all() and np.isnan(union.close[:40, 1]).all()
    np.testing.assert_array_equal(union.close[:80, 0], panel.close[:80, 0])
    np.testing.assert_array_equal(union.volume[40:, 1], panel.volume[40:, 1])
    inter = _load(tmp_path, align="intersection")
    np.testing.assert_array_equal(inter.timestamps, panel.timestamps[40:80])
    assert not np.isnan(inter.close).any()


def test_files_symbols_filter_keeps_the_requested_order(tmp_path: Path, panel: BarPanel) -> None:
    for j, s in enumerate(panel.symbols):
        _write_csv(tmp_path / f"{s}.csv", panel, j)
    loaded = _load(tmp_path, symbols=["CCC", "AAA"])
    assert loaded.symbols == ("CCC", "AAA")
    np.testing.assert_array_equal(loaded.close[:, 0], panel.close[:, 2])


def test_files_column_mapping_and_case_insensitive_names(tmp_path: Path) -> None:
    path = tmp_path / "spx.csv"
    path.write_text(
        "Date,OPEN,High,low,Close,Adj Close,Volume\n"
        "2021-03-01T00:00:00Z,10,11,9,10.5,10.4,100\n"
        "2021-03-02T00:00:00Z,10.5,12,10,11,10.9,200\n"
    )
    loaded = _load(path, timestamp_column="date")
    assert loaded.close[:, 0].tolist() == [10.5, 11.0]
    adjusted = _load(path, timestamp_column="Date", columns={"close": "adj close"})
    assert adjusted.close[:, 0].tolist() == [10.4, 10.9]


def test_files_custom_timestamp_format(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("timestamp,open,high,low,close,volume\n1/4/1999,10,11,9,10.5,100\n")
    loaded = _load(path, timestamp_format="%m/%d/%Y", assume_timezone="UTC")
    assert loaded.slice_at(0).time == datetime(1999, 1, 4, tzinfo=UTC)


def test_files_load_filters_an_inclusive_range_and_sets_instruments(tmp_path: Path, panel: BarPanel) -> None:
    _write_csv(tmp_path / "AAA.csv", panel, 0)
    src = FileDataSource(FilesParams(
        path=tmp_path, timeframe="1d", asset_class=AssetClass.CRYPTO, lot_size=Decimal("0.001"),
    ))
    start, end = to_datetime(panel.timestamps[10]), to_datetime(panel.timestamps[19])
    part = src.load(start, end)
    assert part.shape == (10, 1)
    np.testing.assert_array_equal(part.close[:, 0], panel.close[10:20, 0])
    inst = part.instruments["AAA"]
    assert inst.asset_class is AssetClass.CRYPTO and inst.lot_size == Decimal("0.001")


def test_files_plugin_registers_the_source(tmp_path: Path, panel: BarPanel) -> None:
    host = create_plugin_host(only=["files"], env={})
    assert not host.failures, [f.error for f in host.failures]
    spec = host.registries.data_sources.get("files")
    assert spec.plugin == "files"
    _write_csv(tmp_path / "AAA.csv", panel, 0)
    assert spec.build({"path": str(tmp_path)}, BuildContext("data")).load().shape == (120, 1)


def test_files_example_prices_match_their_generator_and_load(tmp_path: Path) -> None:
    script = Path(__file__).with_name("make_example_prices.py")
    spec = importlib.util.spec_from_file_location("make_example_prices", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert EXAMPLE.read_text() == module.example_prices_csv()
    assert EXAMPLE.stat().st_size < 100_000
    loaded = _load(EXAMPLE)
    assert loaded.symbols == ("AAA", "BBB", "CCC")
    assert loaded.shape == (300, 3)
    assert all(t.weekday() < 5 for t in (s.time for s in loaded.slices()))


def test_a_relative_path_is_taken_from_the_config_files_folder(tmp_path: Path) -> None:
    """``path = "data/prices.csv"`` in ``project/config.toml`` reads ``project/data/prices.csv``
    whether ``ai-trading`` starts in ``project/`` or anywhere else."""
    import json
    import shutil
    import subprocess
    import sys

    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    shutil.copy(Path(__file__).resolve().parents[3] / "examples" / "data" / "prices.csv", project / "data")
    (project / "config.toml").write_text(
        '[run]\ninitial_cash = "100000"\noutput_dir = "runs"\nstate_dir = "state"\n'
        '[data]\nname = "files"\nparams = { path = "data/prices.csv" }\n'
        '[[strategies]]\nname = "sma_crossover"\nparams = { fast = 5, slow = 20 }\n'
        '[broker]\nname = "sim"\n[audit]\nenabled = false\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for cwd in (project, elsewhere):
        out = cwd / "run.json"
        proc = subprocess.run(
            [sys.executable, "-m", "ai_trading_core.cli", "run", str(project / "config.toml"), "--quiet",
             "--json-out", str(out)],
            capture_output=True, text=True, timeout=300, cwd=cwd,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(out.read_text())["bars"] > 20
