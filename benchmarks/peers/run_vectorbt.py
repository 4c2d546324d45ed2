"""vectorbt: one ``Portfolio.from_signals`` call over all symbols at once.

Each column is an independent sub-account (``cash_sharing=False``, ``init_cash`` = the
account's cash / N). The decision at bar t's close is shifted to bar t+1 and filled at that
bar's open (``price=open``); ``size=inf`` with ``size_granularity=1`` buys as many whole
units as the cash allows at the fill price. Moving averages come from ``vbt.MA``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import vectorbt as vbt

from benchmarks.data import OHLCV
from benchmarks.measure import run_engine, version_of
from benchmarks.reference import FAST, SLOW


def run(case: OHLCV) -> tuple[int, float]:
    index = pd.to_datetime(case.timestamps, utc=True)
    close = pd.DataFrame(case.close, index=index, columns=list(case.symbols))
    open_ = pd.DataFrame(case.open, index=index, columns=list(case.symbols))
    fast = vbt.MA.run(close, FAST, short_name="fast")
    slow = vbt.MA.run(close, SLOW, short_name="slow")
    state = fast.ma_above(slow).to_numpy()  # fast > slow, False while undefined
    wanted = np.zeros_like(state)
    wanted[1:] = state[:-1]  # act at the next bar
    pf = vbt.Portfolio.from_signals(
        close,
        entries=wanted,
        exits=~wanted,
        price=open_,
        size=np.inf,
        size_granularity=1.0,
        direction="longonly",
        accumulate=False,
        init_cash=case.initial_cash / case.shape[1],
        cash_sharing=False,
        fees=0.0,
        slippage=0.0,
        freq=None,
    )
    trades = int(np.asarray(pf.trades.count()).sum())
    equity = float(np.asarray(pf.final_value()).sum())
    return trades, equity


if __name__ == "__main__":
    run_engine("vectorbt", run, {"vectorbt": version_of("vectorbt"), "numba": version_of("numba")})
