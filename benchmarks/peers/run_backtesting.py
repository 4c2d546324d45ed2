"""backtesting.py: single-asset by design, so the panel runs as N separate backtests, one per
symbol, each with the sub-account's cash (initial cash / N); the totals are summed.

Orders are market orders placed in ``next()`` at bar t's close and filled at bar t+1's open
(``trade_on_close=False``). ``buy(size=<fraction just below 1>)`` makes backtesting.py size
the order at the fill price in whole units: ``int(cash * size // open)``. The moving averages
are computed in ``init()`` over the whole close series (each value uses only past closes)
instead of through ``self.I``, because ``self.I`` indicators delay the first ``next()`` call by
one bar past the warm-up, which would shift the first possible entry.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from backtesting import Backtest, Strategy

from benchmarks.data import OHLCV
from benchmarks.measure import run_engine, version_of
from benchmarks.peers.frames import symbol_frames
from benchmarks.reference import FAST, SLOW

ALL_IN = float(np.nextafter(1.0, 0.0))  # relative sizes must be < 1; this is 1 - 2**-53


class SmaCross(Strategy):
    def init(self) -> None:
        close = pd.Series(self.data.Close)
        self.long_state = (close.rolling(FAST).mean() > close.rolling(SLOW).mean()).to_numpy()

    def next(self) -> None:
        want_long = self.long_state[len(self.data) - 1]
        if want_long and not self.position:
            self.buy(size=ALL_IN)
        elif not want_long and self.position:
            self.position.close()


def run(case: OHLCV) -> tuple[int, float]:
    cash = case.initial_cash / case.shape[1]
    trades, equity = 0, 0.0
    for frame in symbol_frames(case, ("Open", "High", "Low", "Close", "Volume")):
        bt = Backtest(
            frame,
            SmaCross,
            cash=cash,
            commission=0.0,
            spread=0.0,
            trade_on_close=False,
            exclusive_orders=False,
            finalize_trades=False,
        )
        stats = bt.run()
        strategy = stats["_strategy"]
        trades += len(strategy.closed_trades) + len(strategy.trades)
        equity += float(stats["Equity Final [$]"])
    return trades, equity


if __name__ == "__main__":
    run_engine("backtesting.py", run, {"backtesting": version_of("backtesting")})
