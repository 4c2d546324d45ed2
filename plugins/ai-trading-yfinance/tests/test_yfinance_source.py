"""The yfinance source at the adapter boundary with recorded payloads: shapes, UTC open-time
labels, the NaN rule, adjustment, cache hits and misses, typed errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from ai_trading_yfinance.config import YFinanceParams
from ai_trading_yfinance.data import YFinanceSource

from ai_trading_core.enums import AssetClass, Timeframe
from ai_trading_core.errors import ConfigError, DataError, UnknownSymbolError
from ai_trading_core.market import to_datetime

DAYS = pd.DatetimeIndex(
    pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"])
)


def source(download: Any, tmp_path: Path, **params: Any) -> YFinanceSource:
    base: dict[str, Any] = {"symbols": ["AAPL", "^GSPC"], "start": "2024-01-02", "end": "2024-01-08"}
    base.update(params)
    return YFinanceSource(YFinanceParams(**base), cache_dir=tmp_path / "cache", download=download)


def test_yfinance_daily_panel_from_a_multiindex_download(
    recorded_yahoo: Any, yahoo_frame: Any, tmp_path: Path
) -> None:
    gspc_days = DAYS.delete(2)  # the index has no bar on 2024-01-04 in this recording
    download = recorded_yahoo(
        {
            "AAPL": yahoo_frame(DAYS, [185.0, 184.0, 181.5, 181.0, 185.5]),
            "^GSPC": yahoo_frame(gspc_days, [4742.8, 4704.8, 4697.2, 4763.5]),
        }
    )
    panel = source(download, tmp_path).load()
    call = download.calls[0]
    assert call["tickers"] == ["AAPL", "^GSPC"] and call["interval"] == "1d" and call["auto_adjust"] is True
    assert call["start"] == "2024-01-02" and call["end"] == "2024-01-09"  # yfinance's end is exclusive
    assert call["progress"] is False and call["group_by"] == "column"
    assert panel.symbols == ("AAPL", "^GSPC") and panel.shape == (5, 2) and panel.timeframe is Timeframe.D1
    assert [to_datetime(t).isoformat() for t in panel.timestamps[:2]] == [
        "2024-01-02T00:00:00+00:00",
        "2024-01-03T00:00:00+00:00",
    ]
    np.testing.assert_array_equal(panel.close[:, 0], [185.0, 184.0, 181.5, 181.0, 185.5])
    assert np.isnan(panel.close[2, 1]) and panel.close[3, 1] == 4697.2  # no bar -> NaN
    np.testing.assert_array_equal(panel.high[:, 0], panel.close[:, 0] + 1.0)
    assert panel.volume[1, 0] == 1100.0
    assert panel.instruments["^GSPC"].asset_class is AssetClass.INDEX


def test_yfinance_intraday_is_converted_to_utc_open_times(
    recorded_yahoo: Any, yahoo_frame: Any, tmp_path: Path
) -> None:
    bars = pd.date_range("2024-01-02 09:30", periods=4, freq="5min", tz="America/New_York")
    download = recorded_yahoo({"AAPL": yahoo_frame(bars, [185.0, 185.2, 185.1, 185.4])})
    panel = source(
        download, tmp_path, symbols=["AAPL"], interval="5m", start="2024-01-02", end="2024-01-02T23:55:00"
    ).load()
    assert download.calls[0]["interval"] == "5m"
    assert to_datetime(panel.timestamps[0]).isoformat() == "2024-01-02T14:30:00+00:00"  # 09:30 EST
    assert np.all(np.diff(panel.timestamps) == 300 * 10**9) and panel.timeframe is Timeframe.M5


def test_yfinance_naive_intraday_is_refused(recorded_yahoo: Any, yahoo_frame: Any, tmp_path: Path) -> None:
    bars = pd.date_range("2024-01-02 09:30", periods=2, freq="1h")
    download = recorded_yahoo({"AAPL": yahoo_frame(bars, [185.0, 185.2])})
    with pytest.raises(DataError, match="intraday timestamps without a timezone"):
        source(download, tmp_path, symbols=["AAPL"], interval="1h").load()


def test_yfinance_cache_hit_and_miss(recorded_yahoo: Any, yahoo_frame: Any, tmp_path: Path) -> None:
    download = recorded_yahoo(
        {
            "AAPL": yahoo_frame(DAYS, [185.0, 184.0, 181.5, 181.0, 185.5]),
            "MSFT": yahoo_frame(DAYS, [370.0, 371.0, 367.8, 367.7, 374.7]),
        }
    )
    first = source(download, tmp_path, symbols=["AAPL"])
    a = first.load()
    assert first.cache is not None and (first.cache.hits, first.cache.misses) == (0, 1)
    again = source(download, tmp_path, symbols=["AAPL", "MSFT"])
    b = again.load()
    assert again.cache is not None and (again.cache.hits, again.cache.misses) == (1, 1)
    assert [c["tickers"] for c in download.calls] == [["AAPL"], ["MSFT"]]  # only the missing symbol asked
    np.testing.assert_array_equal(a.close[:, 0], b.close[:, 0])
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    third = source(download, tmp_path, symbols=["AAPL", "MSFT"])
    third.load()
    assert len(download.calls) == 2 and third.cache is not None and third.cache.hits == 2
    # keyed by adjustment and range: a different request is a miss
    source(download, tmp_path, symbols=["AAPL"], auto_adjust=False).load()
    source(download, tmp_path, symbols=["AAPL"], end="2024-01-05").load()
    assert len(download.calls) == 4
    files = sorted(p.name for p in (tmp_path / "cache" / "AAPL").iterdir())
    assert files == [
        "1d_2024-01-02_2024-01-06_adj.parquet",
        "1d_2024-01-02_2024-01-09_adj.parquet",
        "1d_2024-01-02_2024-01-09_raw.parquet",
    ]
    # an open range is never cached
    source(download, tmp_path, symbols=["AAPL"], end=None).load()
    source(download, tmp_path, symbols=["AAPL"], end=None).load()
    assert len(download.calls) == 6


def test_yfinance_unadjusted_keeps_traded_prices(
    recorded_yahoo: Any, yahoo_frame: Any, tmp_path: Path
) -> None:
    download = recorded_yahoo(
        {"AAPL": yahoo_frame(DAYS, [185.0, 184.0, 181.5, 181.0, 185.5], adjusted=False, adj_ratio=0.99)}
    )
    panel = source(download, tmp_path, symbols=["AAPL"], auto_adjust=False).load()
    assert download.calls[0]["auto_adjust"] is False
    np.testing.assert_array_equal(panel.close[:, 0], [185.0, 184.0, 181.5, 181.0, 185.5])  # not Adj Close
    cached = pd.read_parquet(next((tmp_path / "cache" / "AAPL").iterdir()))
    np.testing.assert_allclose(cached["Adj Close"].to_numpy(), cached["Close"].to_numpy() * 0.99)


def test_yfinance_nan_rule(recorded_yahoo: Any, yahoo_frame: Any, tmp_path: Path) -> None:
    frame = yahoo_frame(DAYS, [185.0, 184.0, 181.5, 181.0, 185.5])
    frame.iloc[1, :] = np.nan  # a whole row missing: no bar that day
    panel = source(recorded_yahoo({"AAPL": frame}), tmp_path, symbols=["AAPL"], cache=False).load()
    assert panel.shape == (4, 1) and 184.0 not in panel.close[:, 0]
    partial = yahoo_frame(DAYS, [185.0, 184.0, 181.5, 181.0, 185.5])
    partial.loc[DAYS[3], "High"] = np.nan
    with pytest.raises(DataError, match="AAPL at 2024-01-05.*missing"):
        source(recorded_yahoo({"AAPL": partial}), tmp_path, symbols=["AAPL"], cache=False).load()
    negative = yahoo_frame(DAYS, [185.0, -1.0, 181.5, 181.0, 185.5])
    with pytest.raises(DataError, match="non-positive"):
        source(recorded_yahoo({"AAPL": negative}), tmp_path, symbols=["AAPL"], cache=False).load()


def test_yfinance_unknown_tickers_are_clear_errors(
    recorded_yahoo: Any, yahoo_frame: Any, tmp_path: Path
) -> None:
    download = recorded_yahoo({"AAPL": yahoo_frame(DAYS, [185.0, 184.0, 181.5, 181.0, 185.5])})
    with pytest.raises(UnknownSymbolError, match="no bars for NOPE"):
        source(download, tmp_path, symbols=["AAPL", "NOPE"]).load()
    assert not (tmp_path / "cache" / "NOPE").exists()  # an unknown ticker is not cached
    with pytest.raises(UnknownSymbolError, match="no data for NOPE"):
        source(download, tmp_path, symbols=["NOPE"]).load()


def test_yfinance_bad_params_and_failures(recorded_yahoo: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not served"):
        source(recorded_yahoo({}), tmp_path, interval="4h")
    with pytest.raises(ConfigError, match="before start"):
        source(recorded_yahoo({}), tmp_path, start="2024-02-01", end="2024-01-01").load()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("no route to host")

    with pytest.raises(DataError, match="download of AAPL, \\^GSPC failed: ConnectionError"):
        source(broken, tmp_path).load()


def test_yfinance_registered_with_cache_under_state_dir(tmp_path: Path) -> None:
    from ai_trading_core.plugins import create_plugin_host, registry_for
    from ai_trading_core.registry import BuildContext

    spec = registry_for(create_plugin_host(), "data_source").get("yfinance")
    built = spec.build({"symbols": ["AAPL"]}, BuildContext(component_id="data", state_dir=tmp_path))
    assert isinstance(built, YFinanceSource) and built.params.auto_adjust is True
    assert built.cache is not None and built.cache.root == tmp_path / "yfinance-cache"
    with pytest.raises(ConfigError, match="extra|not permitted|forbid"):
        spec.build({"symbols": ["AAPL"], "adjusted": True}, BuildContext(component_id="data"))
