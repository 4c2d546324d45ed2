"""Indicator values equal TA-Lib's own on the same input, in both the block and the
incremental source, including symbols that start late or miss bars."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import talib
from ai_trading_technical.indicators import BlockIndicators, IncrementalIndicators, IndicatorCache

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import BarPanel
from ai_trading_core.resample import completed_bucket_index, resample_panel
from ai_trading_core.testing import random_walk_panel

RTOL = 1e-9


def _gappy_panel(n_bars: int = 400, seed: int = 5) -> BarPanel:
    """Symbol 0 complete, symbol 1 starts at bar 30, symbol 2 misses bars 200-204."""
    p = random_walk_panel(n_bars, 3, seed=seed)
    mask = np.zeros(p.shape, dtype=bool)
    mask[:30, 1] = True
    mask[200:205, 2] = True

    def knock(a: np.ndarray) -> np.ndarray:
        return np.where(mask, np.nan, a)

    return BarPanel(
        p.symbols,
        p.timestamps,
        knock(p.open),
        knock(p.high),
        knock(p.low),
        knock(p.close),
        knock(p.volume),
        p.timeframe,
        p.instruments,
        p.source,
    )


# (method name, args, TA-Lib reference on one column of the chosen field)
CASES: list[tuple[str, tuple[object, ...], str, Callable[[np.ndarray], object]]] = [
    ("sma", (20,), "close", lambda x: talib.SMA(x, 20)),
    ("sma", (3,), "volume", lambda x: talib.SMA(x, 3)),
    ("ema", (10,), "close", lambda x: talib.EMA(x, 10)),
    ("ema", (2,), "close", lambda x: talib.EMA(x, 2)),
    ("stddev", (20, 2.0), "close", lambda x: talib.STDDEV(x, 20, 2.0)),
    ("bbands", (20, 2.0), "close", lambda x: talib.BBANDS(x, 20, 2.0, 2.0, 0)),
    ("bbands", (5, 1.5), "close", lambda x: talib.BBANDS(x, 5, 1.5, 1.5, 0)),
    ("rsi", (14,), "close", lambda x: talib.RSI(x, 14)),
    ("rsi", (2,), "close", lambda x: talib.RSI(x, 2)),
    ("macd", (12, 26, 9), "close", lambda x: talib.MACD(x, 12, 26, 9)),
    ("macd", (3, 7, 2), "close", lambda x: talib.MACD(x, 3, 7, 2)),
    ("roc", (10,), "close", lambda x: talib.ROC(x, 10)),
    ("roc", (1,), "close", lambda x: talib.ROC(x, 1)),
    ("highest", (20,), "high", lambda x: talib.MAX(x, 20)),
    ("lowest", (20,), "low", lambda x: talib.MIN(x, 20)),
]


def _reference(
    panel: BarPanel, field: str, ref: Callable[[np.ndarray], object], n_out: int
) -> list[np.ndarray]:
    """TA-Lib on each symbol's own bars (rows where it has a close), scattered back."""
    outs = [np.full(panel.shape, np.nan) for _ in range(n_out)]
    for j in range(panel.shape[1]):
        rows = np.flatnonzero(np.isfinite(panel.close[:, j]))
        res = ref(np.ascontiguousarray(getattr(panel, field)[rows, j]))
        res_list = list(res) if isinstance(res, tuple) else [res]
        for o, r in zip(outs, res_list, strict=True):
            o[rows, j] = r
    return outs


def _as_list(value: object) -> list[np.ndarray]:
    return list(value) if isinstance(value, tuple) else [value]  # type: ignore[list-item]


@pytest.mark.parametrize(("name", "args", "field", "ref"), CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_block_and_incremental_equal_talib(
    name: str, args: tuple[object, ...], field: str, ref: Callable[[np.ndarray], object]
) -> None:
    panel = _gappy_panel()
    kwargs = {"field": field}
    block = _as_list(getattr(BlockIndicators(panel), name)(*args, **kwargs))
    expected = _reference(panel, field, ref, len(block))
    inc = IncrementalIndicators(3, panel.timeframe)
    rows = []
    for i in range(panel.shape[0]):
        inc.advance(panel.slice_at(i))
        rows.append([o.copy() for o in _as_list(getattr(inc, name)(*args, **kwargs))])
    for k, exp in enumerate(expected):
        got_inc = np.array([r[k] for r in rows])
        np.testing.assert_array_equal(np.isnan(block[k]), np.isnan(exp))
        np.testing.assert_array_equal(np.isnan(got_inc), np.isnan(exp))
        np.testing.assert_allclose(block[k], exp, rtol=RTOL, equal_nan=True)
        np.testing.assert_allclose(got_inc, exp, rtol=RTOL, atol=1e-9, equal_nan=True)
    # the reference has values: the comparison was not over all-NaN arrays
    assert np.isfinite(expected[0]).sum() > 200


def test_lag_is_counted_in_the_symbols_own_bars() -> None:
    panel = _gappy_panel()
    block = BlockIndicators(panel)
    now, before = block.highest(20), block.highest(20, lag=1)
    rows = np.flatnonzero(np.isfinite(panel.close[:, 2]))
    np.testing.assert_array_equal(before[rows[1:], 2], now[rows[:-1], 2])
    inc = IncrementalIndicators(3, panel.timeframe)
    got = []
    for i in range(panel.shape[0]):
        inc.advance(panel.slice_at(i))
        got.append(inc.highest(20, lag=1).copy())
    np.testing.assert_array_equal(np.array(got), before)


def test_cache_serves_repeat_requests_and_never_a_changed_column() -> None:
    panel = random_walk_panel(300, 2, seed=1)
    cache = IndicatorCache()
    first = BlockIndicators(panel, cache).rsi(14)
    assert (cache.misses, cache.hits) == (2, 0)
    again = BlockIndicators(panel, cache).rsi(14)
    assert (cache.misses, cache.hits) == (2, 2)
    np.testing.assert_array_equal(first, again)
    close = panel.close.copy()
    close[-1, 1] *= 1.5
    changed = BarPanel(
        panel.symbols, panel.timestamps, panel.open, panel.high, panel.low, close, panel.volume
    )
    other = BlockIndicators(changed, cache).rsi(14)
    assert (cache.misses, cache.hits) == (3, 3)  # symbol 0 unchanged: hit; symbol 1 changed: miss
    assert other[-1, 1] != first[-1, 1]
    np.testing.assert_allclose(other[:, 1], talib.RSI(close[:, 1], 14), equal_nan=True)


def test_higher_timeframe_values_are_those_of_the_last_completed_bar() -> None:
    panel = random_walk_panel(288 * 12 + 100, 2, seed=3, timeframe=Timeframe.M5)
    daily = resample_panel(panel, Timeframe.D1)
    idx = completed_bucket_index(panel.timestamps, Timeframe.M5, Timeframe.D1)
    ref = talib.SMA(daily.close[:, 0], 3)
    expected = np.where(idx >= 0, ref[np.maximum(idx, 0)], np.nan)
    block = BlockIndicators(panel).higher(Timeframe.D1).sma(3)
    np.testing.assert_allclose(block[:, 0], expected, rtol=RTOL, equal_nan=True)
    inc = IncrementalIndicators(2, Timeframe.M5)
    got = []
    for i in range(panel.shape[0]):
        inc.advance(panel.slice_at(i))
        got.append(inc.higher(Timeframe.D1).sma(3)[0])
    np.testing.assert_allclose(np.array(got), expected, rtol=RTOL, equal_nan=True)
    # the first value appears on the last 5-minute bar of day 3, never before
    first = int(np.flatnonzero(np.isfinite(expected))[0])
    assert first == 288 * 3 - 1


def test_indicator_requested_late_is_a_config_error() -> None:
    panel = random_walk_panel(10, 1)
    inc = IncrementalIndicators(1, panel.timeframe)
    inc.advance(panel.slice_at(0))
    inc.sma(3)
    inc.advance(panel.slice_at(1))
    inc.sma(3)
    with pytest.raises(ConfigError, match="first requested after the first bar"):
        inc.ema(3)


@pytest.mark.parametrize(
    "call",
    [
        lambda ta: ta.sma(1),
        lambda ta: ta.rsi(14, field="vwap"),
        lambda ta: ta.roc(5, lag=-1),
        lambda ta: ta.macd(26, 12, 9),
    ],
)
def test_bad_indicator_parameters_are_config_errors(call: Callable[[BlockIndicators], object]) -> None:
    with pytest.raises(ConfigError):
        call(BlockIndicators(random_walk_panel(50, 1)))
