"""backtesting.py: single-asset by design, so the panel runs as N separate backtests, one per
symbol, each with the sub-account's cash (initial cash / N); the totals are summed.

Written as backtesting.py's own quick-start writes an SMA cross (``SmaCross`` with
``self.I(SMA, ...)`` indicators and ``backtesting.lib.crossover``), long-only: an upward cross
buys with ``self.buy()`` (the default size, all available cash, whole units at the fill
price), a downward cross closes the position. Orders are market orders placed in ``next()``
at bar t's close and filled at bar t+1's open (``trade_on_close=False``, the default).
``self.I`` starts ``next()`` once both averages and the bar before exist, which is where the
crossover rule's first event can happen (``reference.TRIGGER``).
"""

from __future__ import annotations

from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import SMA

from benchmarks.data import OHLCV
from benchmarks.measure import run_engine, version_of
from benchmarks.peers.frames import symbol_frames
from benchmarks.reference import FAST, SLOW


class SmaCross(Strategy):
    def init(self) -> None:
        self.fast = self.I(SMA, self.data.Close, FAST)
        self.slow = self.I(SMA, self.data.Close, SLOW)

    def next(self) -> None:
        if crossover(self.fast, self.slow):
            self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()


def run(case: OHLCV) -> tuple[int, float]:
    cash = case.initial_cash / case.shape[1]
    trades, equity = 0, 0.0
    for frame in symbol_frames(case, ("Open", "High", "Low", "Close", "Volume")):
        bt = Backtest(frame, SmaCross, cash=cash, commission=0.0, finalize_trades=False)
        stats = bt.run()
        strategy = stats["_strategy"]
        trades += len(strategy.closed_trades) + len(strategy.trades)
        equity += float(stats["Equity Final [$]"])
    return trades, equity


if __name__ == "__main__":
    run_engine("backtesting.py", run, {"backtesting": version_of("backtesting")})
