"""Historical bars from Alpaca's market data API through alpaca-py's
``StockHistoricalDataClient`` (pagination is alpaca-py's: it follows ``next_page_token``).

Bars are labelled by their open time (Alpaca's ``t``), as everywhere in the framework.
``adjustment`` selects raw prices or split-/dividend-/fully adjusted ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical.stock import StockHistoricalDataClient
from alpaca.data.requests import StockBarsRequest
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit
from pydantic import SecretStr

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import DataError
from ai_trading_core.market import BarPanel, to_ns
from ai_trading_core.models import Instrument

from .parsing import timestamp
from .providers import harden

_TIMEFRAMES = {
    Timeframe.M1: TimeFrame(1, TimeFrameUnit.Minute),
    Timeframe.M5: TimeFrame(5, TimeFrameUnit.Minute),
    Timeframe.M15: TimeFrame(15, TimeFrameUnit.Minute),
    Timeframe.M30: TimeFrame(30, TimeFrameUnit.Minute),
    Timeframe.H1: TimeFrame(1, TimeFrameUnit.Hour),
    Timeframe.H4: TimeFrame(4, TimeFrameUnit.Hour),
    Timeframe.D1: TimeFrame(1, TimeFrameUnit.Day),
}
_FIELDS = (("o", "open"), ("h", "high"), ("l", "low"), ("c", "close"), ("v", "volume"))


class AlpacaBarsSource:
    """``DataSource`` over Alpaca stock bars."""

    def __init__(self, params: Any, api_key: SecretStr, secret_key: SecretStr) -> None:
        self.params = params
        self.timeframe = Timeframe.parse(params.timeframe)
        self._key, self._secret = api_key, secret_key

    def _client(self) -> StockHistoricalDataClient:
        client = StockHistoricalDataClient(
            self._key.get_secret_value(),
            self._secret.get_secret_value(),
            raw_data=True,
            url_override=self.params.base_url,
        )
        return harden(client, self.params.request_timeout_s)

    def load(self, start: datetime | None = None, end: datetime | None = None) -> BarPanel:
        request = StockBarsRequest(
            symbol_or_symbols=list(self.params.symbols),
            timeframe=_TIMEFRAMES[self.timeframe],
            start=start,
            end=end,
            adjustment=Adjustment(self.params.adjustment),
            feed=DataFeed(self.params.feed) if self.params.feed else None,
        )
        client = self._client()
        try:
            raw = client.get_stock_bars(request)
        except Exception as exc:  # noqa: BLE001 - translated to the framework's error
            raise DataError(
                f"alpaca bars for {', '.join(self.params.symbols)}: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            client._session.close()
        return bars_to_panel(raw, tuple(self.params.symbols), self.timeframe)


def bars_to_panel(
    raw: dict[str, list[dict[str, Any]]], symbols: tuple[str, ...], timeframe: Timeframe
) -> BarPanel:
    """A (T, N) panel from Alpaca's ``{"SYM": [{"t", "o", "h", "l", "c", "v"}, ...]}``;
    a symbol without a bar at a timestamp gets NaN there."""
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for symbol in symbols:
        bars = raw.get(symbol) or []
        if not bars:
            raise DataError(f"alpaca: no bars for {symbol}")
        per: dict[int, dict[str, Any]] = {}
        for i, bar in enumerate(bars):
            try:
                ns = to_ns(timestamp(bar["t"]))
                per[ns] = bar
            except (KeyError, ValueError) as exc:
                raise DataError(f"alpaca: {symbol} bar {i}: bad timestamp ({exc})") from None
        rows[symbol] = per
    stamps = np.array(sorted({ns for per in rows.values() for ns in per}), dtype=np.int64)
    index = {int(ns): i for i, ns in enumerate(stamps)}
    arrays = {name: np.full((len(stamps), len(symbols)), np.nan) for _, name in _FIELDS}
    for j, symbol in enumerate(symbols):
        for ns, bar in rows[symbol].items():
            for key, name in _FIELDS:
                value = float(bar[key])
                if name != "volume" and not value > 0:
                    raise DataError(f"alpaca: {symbol} bar at {bar['t']}: non-positive {name} {value}")
                arrays[name][index[ns], j] = value
    return BarPanel(
        symbols=symbols,
        timestamps=stamps,
        timeframe=timeframe,
        instruments={s: Instrument(symbol=s) for s in symbols},
        source="alpaca",
        **arrays,
    )
