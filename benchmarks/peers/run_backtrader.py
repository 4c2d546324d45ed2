"""backtrader: one ``Cerebro`` per symbol, each with its own broker holding the sub-account's
cash (initial cash / N); the totals are summed.

One Cerebro per symbol is the faster correct choice for the panel: the sub-accounts are
independent by definition, and a single Cerebro with 500 feeds spends its time synchronising
the feeds' clocks and shares one cash balance, which would need manual per-symbol cash
book-keeping to express the same sizing.

``cheat_on_open=True``: ``next()`` (bar t close) records the wanted state from backtrader's
own ``CrossOver`` of the two ``SMA`` indicators (+1: long, -1: flat; the crossover rule of
``reference.TRIGGER``); ``next_open()`` (bar t+1, before the broker matches) places the market
order sized at that bar's open, ``floor(cash / open)`` whole units, and the broker fills it at
that open. Observers are off (``stdstats=False``).
"""

from __future__ import annotations

import math

import backtrader as bt

from benchmarks.data import OHLCV
from benchmarks.measure import run_engine, version_of
from benchmarks.peers.frames import symbol_frames
from benchmarks.reference import FAST, SLOW


class SmaCross(bt.Strategy):
    def __init__(self) -> None:
        self.fast = bt.indicators.SMA(self.data.close, period=FAST)
        self.slow = bt.indicators.SMA(self.data.close, period=SLOW)
        self.cross = bt.indicators.CrossOver(self.fast, self.slow)
        self.want_long: bool | None = None
        self.entries = 0

    def next(self) -> None:
        if self.cross[0] > 0:
            self.want_long = True
        elif self.cross[0] < 0:
            self.want_long = False

    def next_open(self) -> None:
        if self.want_long is None:
            return
        units = self.position.size
        if self.want_long and units == 0:
            size = math.floor(self.broker.getcash() / self.data.open[0])
            if size > 0:
                self.buy(size=size)
        elif not self.want_long and units > 0:
            self.close()

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed and order.isbuy():
            self.entries += 1


def run(case: OHLCV) -> tuple[int, float]:
    cash = case.initial_cash / case.shape[1]
    trades, equity = 0, 0.0
    for frame in symbol_frames(case, ("open", "high", "low", "close", "volume")):
        cerebro = bt.Cerebro(stdstats=False, cheat_on_open=True)
        cerebro.adddata(bt.feeds.PandasData(dataname=frame, openinterest=None))
        cerebro.addstrategy(SmaCross)
        cerebro.broker.setcash(cash)
        cerebro.broker.setcommission(commission=0.0)
        (strategy,) = cerebro.run()
        trades += strategy.entries
        equity += cerebro.broker.getvalue()
    return trades, equity


if __name__ == "__main__":
    run_engine("backtrader", run, {"backtrader": version_of("backtrader")})
