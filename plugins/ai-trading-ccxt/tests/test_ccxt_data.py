"""Candles through ccxt.binance pointed at the local Binance server: pagination by
since/limit, pacing by ccxt's rate limiter, instruments from exchangeInfo as exact Decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import numpy as np
import pytest
from ai_trading_ccxt.config import CcxtOhlcvParams
from ai_trading_ccxt.data import CcxtOhlcvSource
from ai_trading_ccxt.parsing import decimal, increment
from ai_trading_ccxt.providers import make_exchange

from ai_trading_core.enums import AssetClass
from ai_trading_core.errors import ConfigError, DataError, UnknownSymbolError
from ai_trading_core.market import to_datetime

HOUR = 3_600_000


def source(server: Any, **params: Any) -> CcxtOhlcvSource:
    base: dict[str, Any] = {
        "symbols": ["BTC/USDT", "ETH/USDT"],
        "timeframe": "1h",
        "urls": server.urls,
        "rate_limit_ms": 1,
        "request_timeout_s": 2.0,
    }
    base.update(params)
    return CcxtOhlcvSource(CcxtOhlcvParams(**base))


def test_ccxt_ohlcv_paginates_and_builds_the_panel(binance_server: Any) -> None:
    binance_server.klines = {
        "BTCUSDT": [binance_server.kline(binance_server.t0_ms + i * HOUR, 40_000.0 + i) for i in range(25)],
        "ETHUSDT": [
            binance_server.kline(binance_server.t0_ms + i * HOUR, 2_000.0 + i) for i in range(25) if i != 7
        ],
    }
    src = source(binance_server, page_limit=10, since="2024-01-01T00:00:00+00:00")
    panel = src.load()
    klines = [r for r in binance_server.requests if r[1] == "/api/v3/klines"]
    # 25 candles, 10 per page: pages of 10, 10, 5 per symbol, the short page ending neither
    # loop early (a page may be short for other reasons) -> one empty page more each
    assert len(klines) == src.pages == 8
    assert panel.shape == (25, 2) and panel.symbols == ("BTC/USDT", "ETH/USDT")
    assert to_datetime(panel.timestamps[0]).isoformat() == "2024-01-01T00:00:00+00:00"  # open time, UTC
    assert np.all(np.diff(panel.timestamps) == HOUR * 1_000_000)
    np.testing.assert_array_equal(panel.close[:, 0], [40_000.0 + i for i in range(25)])
    np.testing.assert_array_equal(panel.high[:, 0], [40_002.0 + i for i in range(25)])
    assert np.isnan(panel.close[7, 1]) and panel.close[8, 1] == 2_008.0
    assert panel.volume[0, 0] == 12.5
    btc = panel.instruments["BTC/USDT"]
    assert (btc.tick_size, btc.lot_size, btc.min_quantity) == (
        Decimal("0.01"),
        Decimal("0.00001"),
        Decimal("0.00001"),
    )
    assert btc.asset_class is AssetClass.CRYPTO and btc.currency == "USDT" and btc.exchange == "binance"
    assert panel.instruments["ETH/USDT"].lot_size == Decimal("0.0001")


def test_ccxt_ohlcv_until_bounds_the_range_and_stops_paging(binance_server: Any) -> None:
    binance_server.klines = {
        "BTCUSDT": [binance_server.kline(binance_server.t0_ms + i * HOUR, 100.0 + i) for i in range(50)]
    }
    src = source(
        binance_server,
        symbols=["BTC/USDT"],
        page_limit=4,
        since="2024-01-01T02:00:00",
        until="2024-01-01T12:00:00",
    )
    panel = src.load()
    assert panel.shape == (11, 1)  # open times 02:00 .. 12:00 inclusive
    assert panel.close[0, 0] == 102.0 and panel.close[-1, 0] == 112.0
    assert src.pages == 3  # 4 + 4 + 3, the last page reaches `until`: no empty page needed


def test_ccxt_ohlcv_requests_are_paced_by_ccxts_rate_limiter(binance_server: Any) -> None:
    binance_server.klines = {
        "BTCUSDT": [binance_server.kline(binance_server.t0_ms + i * HOUR, 100.0 + i) for i in range(12)]
    }
    source(binance_server, symbols=["BTC/USDT"], page_limit=3, rate_limit_ms=100, since="2024-01-01").load()
    stamps = [t for _, path, t in binance_server.requests if path == "/api/v3/klines"]
    assert len(stamps) == 5
    # ccxt weighs binance's klines at 0.4 units for limit < 100: 0.4 x 100 ms = 40 ms apart
    # (measured at the server, so a little scheduling jitter is allowed)
    gaps = np.diff(stamps)
    assert gaps.min() >= 0.035, gaps


def test_ccxt_ohlcv_errors_are_typed(binance_server: Any) -> None:
    binance_server.klines = {"BTCUSDT": [binance_server.kline(binance_server.t0_ms, 100.0)]}
    with pytest.raises(UnknownSymbolError, match="DOGE/USDT"):
        source(binance_server, symbols=["DOGE/USDT"]).load()
    with pytest.raises(DataError, match="no candles for ETH/USDT"):
        binance_server.klines["ETHUSDT"] = []
        source(binance_server, since="2024-01-01").load()
    binance_server.klines = {
        "BTCUSDT": [binance_server.kline(binance_server.t0_ms, 100.0)[:4] + ["0", "0", "1"] + [0] * 5]
    }
    with pytest.raises(DataError, match="non-positive or missing close"):
        source(binance_server, symbols=["BTC/USDT"], since="2024-01-01").load()
    with pytest.raises(ConfigError, match="unknown urls"):
        make_exchange(CcxtOhlcvParams(symbols=["BTC/USDT"], urls={"nonsense": "http://127.0.0.1:1"}))
    with pytest.raises(ConfigError, match="unknown exchange"):
        make_exchange(CcxtOhlcvParams(symbols=["BTC/USDT"], exchange="no-such-exchange"))


def test_ccxt_ohlcv_unreachable_exchange_is_data_error() -> None:
    params = CcxtOhlcvParams(
        symbols=["BTC/USDT"],
        urls={"public": "http://127.0.0.1:9/api/v3"},
        request_timeout_s=0.5,
        rate_limit_ms=1,
    )
    with pytest.raises(DataError, match="load_markets failed"):
        CcxtOhlcvSource(params).load()


def test_ccxt_increments_convert_exactly() -> None:
    assert decimal(1e-05, "x") == Decimal("0.00001") and decimal(0.1, "x") == Decimal("0.1")
    assert decimal(42000.5, "x") == Decimal("42000.5")
    assert increment(1e-08, ccxt.TICK_SIZE, "x") == Decimal("1E-8")
    assert increment(2, ccxt.DECIMAL_PLACES, "x") == Decimal("0.01")
    assert increment(0, ccxt.DECIMAL_PLACES, "x") == Decimal("1")
    with pytest.raises(DataError, match="significant digits"):
        increment(3, ccxt.SIGNIFICANT_DIGITS, "x")
