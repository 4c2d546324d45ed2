"""vectorbt: one ``Portfolio.from_signals`` call over all symbols at once, written as
vectorbt's documentation writes an SMA crossover: ``vbt.MA.run`` for the averages,
``ma_crossed_above`` / ``ma_crossed_below`` for the entries and exits (the crossover rule of
``reference.TRIGGER``), on a **timezone-naive** ``DatetimeIndex`` as in its examples (a
timezone-aware index of a million rows made vectorbt spend most of its time converting it).

Each column is an independent sub-account (``cash_sharing=False``, ``init_cash`` = the
account's cash / N). A signal at bar t's close is shifted to bar t+1 (``vbt.fshift``) and
filled at that bar's open (``price=open``); ``size=inf`` with ``size_granularity=1`` buys as
many whole units as the cash allows at the fill price. Numba is compiled by the harness's
untimed first run on a small cut of the case (warm JIT).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import vectorbt as vbt

from benchmarks.data import OHLCV
from benchmarks.measure import run_engine, version_of
from benchmarks.reference import FAST, SLOW


def run(case: OHLCV) -> tuple[int, float]:
    index = pd.to_datetime(case.timestamps)  # int64 ns since the epoch: naive, in UTC
    close = pd.DataFrame(case.close, index=index, columns=list(case.symbols))
    open_ = pd.DataFrame(case.open, index=index, columns=list(case.symbols))
    fast = vbt.MA.run(close, FAST, short_name="fast")
    slow = vbt.MA.run(close, SLOW, short_name="slow")
    entries = fast.ma_crossed_above(slow).vbt.fshift(1, fill_value=False)  # act at the next open
    exits = fast.ma_crossed_below(slow).vbt.fshift(1, fill_value=False)
    pf = vbt.Portfolio.from_signals(
        close,
        entries=entries,
        exits=exits,
        price=open_,
        size=np.inf,
        size_granularity=1.0,
        direction="longonly",
        init_cash=case.initial_cash / case.shape[1],
        cash_sharing=False,
        fees=0.0,
        slippage=0.0,
    )
    trades = int(np.asarray(pf.trades.count()).sum())
    equity = float(np.asarray(pf.final_value()).sum())
    return trades, equity


if __name__ == "__main__":
    run_engine("vectorbt", run, {"vectorbt": version_of("vectorbt"), "numba": version_of("numba")})
