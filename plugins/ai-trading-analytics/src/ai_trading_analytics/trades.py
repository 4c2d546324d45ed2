"""Statistics of closed round trips (``ai_trading_core.models.Trade``).

Only closed trades (``is_open`` false) count: an open trade's outcome is not known yet. A trade
with P&L exactly 0 is neither a win nor a loss but counts in the denominator of the win rate.
A ratio with nothing to divide by is ``None`` (e.g. the win rate without closed trades, the
profit factor without a losing trade).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ai_trading_core.models import Trade


@dataclass(frozen=True)
class TradeStatistics:
    """Money figures are in the account currency; rates are fractions."""

    trades: int  # closed round trips
    open_trades: int
    wins: int
    losses: int
    win_rate: float | None  # wins / closed trades
    profit_factor: float | None  # gross profit / |gross loss|
    expectancy: float | None  # mean P&L per closed trade (currency)
    average_win: float | None  # mean P&L of winners (currency, > 0)
    average_loss: float | None  # mean P&L of losers (currency, < 0)
    payoff_ratio: float | None  # average_win / |average_loss|
    gross_profit: float  # currency
    gross_loss: float  # currency, <= 0
    largest_win: float | None
    largest_loss: float | None
    average_trade_return: float | None  # mean of P&L / entry notional (fraction)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def closed_trades(trades: Sequence[Trade]) -> list[Trade]:
    return [t for t in trades if not t.is_open]


def trade_pnls(trades: Sequence[Trade]) -> npt.NDArray[np.float64]:
    """Realised P&L (currency, net of commissions) of each trade as float64."""
    return np.array([float(t.pnl) for t in trades], dtype=np.float64)


def trade_returns(trades: Sequence[Trade]) -> npt.NDArray[np.float64]:
    """P&L of each trade over its entry notional ``|quantity| * entry_price`` (fraction);
    0 for a trade without notional."""
    pnl = trade_pnls(trades)
    notional = np.array([abs(float(t.quantity)) * float(t.entry_price) for t in trades], dtype=np.float64)
    out = np.zeros_like(pnl)
    np.divide(pnl, notional, out=out, where=notional > 0)
    return out


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def trade_statistics(trades: Sequence[Trade]) -> TradeStatistics:
    """Win rate, profit factor, expectancy, average win and loss of closed trades."""
    closed = closed_trades(trades)
    pnl = trade_pnls(closed)
    wins = pnl[pnl > 0]
    losses = pnl[pnl < 0]
    gross_profit = float(wins.sum())
    gross_loss = float(losses.sum())
    n = len(closed)
    avg_win = float(wins.mean()) if wins.size else None
    avg_loss = float(losses.mean()) if losses.size else None
    rets = trade_returns(closed)
    return TradeStatistics(
        trades=n,
        open_trades=len(trades) - n,
        wins=int(wins.size),
        losses=int(losses.size),
        win_rate=_ratio(float(wins.size), float(n)),
        profit_factor=_ratio(gross_profit, -gross_loss),
        expectancy=float(pnl.mean()) if n else None,
        average_win=avg_win,
        average_loss=avg_loss,
        payoff_ratio=_ratio(avg_win, -avg_loss) if avg_win is not None and avg_loss is not None else None,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        largest_win=float(wins.max()) if wins.size else None,
        largest_loss=float(losses.min()) if losses.size else None,
        average_trade_return=float(rets.mean()) if n else None,
    )
