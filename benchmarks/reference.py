"""NumPy reference implementation of the benchmark strategy; the definition every engine
must reproduce.

Semantics (per symbol, each an independent sub-account):

* ``fast``/``slow`` are simple moving averages of the close over 10 and 30 bars; bar ``t``
  has them only from ``t = slow - 1`` on.
* ``trigger="cross"`` (what the benchmark runs, :data:`TRIGGER`): crossover **events**. The
  averages' state at bar ``t`` is ``fast[t] > slow[t]`` (strictly). An event happens at a bar
  ``t >= slow`` where the state differs from bar ``t - 1`` (both averages exist on both
  bars): the wanted position becomes *long* on an upward cross and *flat* on a downward one;
  before the first event it is *flat*. So a run never enters a position that a crossing before
  its first bar would have opened: that is the rule each peer's documentation writes
  (vectorbt ``ma_crossed_above``/``ma_crossed_below``, backtesting.py ``crossover``,
  backtrader ``CrossOver``) and ai-trading's ``sma_crossover`` with ``trigger = "cross"``.
* ``trigger="state"`` (the earlier definition, kept for comparison): the wanted state at the
  close of bar ``t`` is *long* when ``fast[t] > slow[t]`` (strictly), otherwise *flat* (also
  while the averages are undefined).
* An order decided at the close of ``t`` is a market order filled at the **open of bar t+1**,
  with no commission and no slippage. Decisions at the last bar never fill.
* Long-only, all-in: the account's initial cash is split equally over the symbols. Going
  long buys ``floor(cash / open[t+1])`` **whole units** with the sub-account's whole cash, so
  the size is fixed at the fill price (every peer can express this exactly: backtesting.py
  sizes relative orders in whole units at the fill price, vectorbt with
  ``size=inf, size_granularity=1``, backtrader with cheat-on-open). Going flat sells them all.
* ``final_equity`` = cash + units × last close, summed over symbols.
* ``trades`` = number of entries (buy fills): closed round trips plus the one still open at
  the end, if any.

``sizing="decision_close"`` is a variant for engines whose sizer must fix the quantity when
the order is decided: ``floor(cash / close[t])`` units, still filled at ``open[t+1]`` (cash
may then go slightly negative). The ai-trading kernel sizes this way until it can express an
order for an amount of cash filled in whole units at the fill price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

FAST = 10
SLOW = 30
TRIGGER = "cross"  # the rule every engine of the benchmark trades

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class BacktestOutcome:
    """Per-symbol results; totals via :attr:`trades` and :attr:`final_equity`."""

    trades_per_symbol: npt.NDArray[np.int64]
    equity_per_symbol: FloatArray

    @property
    def trades(self) -> int:
        return int(self.trades_per_symbol.sum())

    @property
    def final_equity(self) -> float:
        return float(self.equity_per_symbol.sum())


def sma(close: FloatArray, window: int) -> FloatArray:
    """Simple moving average along axis 0, NaN for the first ``window - 1`` rows. Each value
    is the mean of its own window (no running sum, so no drift over a million bars)."""
    out = np.full(close.shape, np.nan)
    if len(close) >= window:
        out[window - 1 :] = np.lib.stride_tricks.sliding_window_view(close, window, axis=0).mean(axis=-1)
    return out


def long_state(close: FloatArray, fast: int = FAST, slow: int = SLOW) -> BoolArray:
    """Wanted state at each bar's close: True = long (fast SMA strictly above slow SMA)."""
    with np.errstate(invalid="ignore"):
        return sma(close, fast) > sma(close, slow)  # NaN compares False: flat until defined


def crossover_state(state: BoolArray, slow: int = SLOW) -> BoolArray:
    """The wanted position under ``trigger="cross"``: ``state`` from the first bar ``t >=
    slow`` where it differs from bar ``t - 1`` on (the first crossing event), flat before."""
    changed = np.zeros_like(state)
    changed[slow:] = state[slow:] != state[slow - 1 : -1]
    started = np.logical_or.accumulate(changed, axis=0)
    out: BoolArray = state & started
    return out


Sizing = Literal["fill_open", "decision_close"]
Trigger = Literal["state", "cross"]


def run_reference(
    open_: FloatArray,
    close: FloatArray,
    initial_cash: float,
    fast: int = FAST,
    slow: int = SLOW,
    sizing: Sizing = "fill_open",
    trigger: Trigger = "state",
) -> BacktestOutcome:
    """Backtest arrays of shape (T, N); ``initial_cash`` (currency) is split equally over N;
    ``sizing`` picks the price that fixes the number of units and ``trigger`` the rule (see
    the module docstring; the benchmark passes :data:`TRIGGER`)."""
    if open_.ndim == 1:
        open_, close = open_[:, None], close[:, None]
    t, n = close.shape
    state = long_state(close, fast, slow)
    if trigger == "cross":
        state = crossover_state(state, slow)
    # wanted[j] is the state decided at the close of bar j - 1, acted on at the open of bar j
    wanted = np.zeros((t, n), dtype=bool)
    wanted[1:] = state[:-1]
    held_before = np.zeros((t, n), dtype=bool)
    held_before[1:] = wanted[:-1]
    entries = wanted & ~held_before
    exits = ~wanted & held_before

    # Entries and exits alternate per symbol; pair the k-th entry with the k-th exit.
    n_entries = entries.sum(axis=0)
    k_max = int(n_entries.max(initial=0))
    entry_open = np.full((n, k_max), np.nan)
    exit_open = np.full((n, k_max), np.nan)
    cols, rows = np.nonzero(entries.T)
    rank = np.arange(len(cols)) - np.repeat(np.cumsum(n_entries) - n_entries, n_entries)
    entry_open[cols, rank] = open_[rows, cols]
    size_price = entry_open if sizing == "fill_open" else np.full((n, k_max), np.nan)
    if sizing == "decision_close":
        size_price[cols, rank] = close[rows - 1, cols]
    n_exits = exits.sum(axis=0)
    cols, rows = np.nonzero(exits.T)
    rank = np.arange(len(cols)) - np.repeat(np.cumsum(n_exits) - n_exits, n_exits)
    exit_open[cols, rank] = open_[rows, cols]

    cash = np.full(n, initial_cash / n)
    units = np.zeros(n)
    last_close = close[-1]
    for k in range(k_max):
        buy = entry_open[:, k]
        sell = exit_open[:, k]
        active = ~np.isnan(buy)
        u = np.where(active, np.floor(cash / np.where(active, size_price[:, k], 1.0)), 0.0)
        if np.any(active & (u < 1)):
            raise ValueError("a sub-account cannot afford one unit: the reference assumes every entry fills")
        cash = cash - np.where(active, u * np.nan_to_num(buy), 0.0)
        closed = active & ~np.isnan(sell)
        cash = cash + np.where(closed, u * np.nan_to_num(sell), 0.0)
        units = np.where(active & ~closed, u, units)
    equity = cash + units * last_close
    return BacktestOutcome(n_entries.astype(np.int64), equity)
