"""P&L attribution of a run per strategy, per ensemble member and per symbol.

Conventions (docs/analytics.md):

- P&L is the realised P&L of trades (currency, net of commissions), summed per group; an open
  trade contributes what it has realised so far. Unrealised P&L of open positions is reported
  once, as ``unattributed_pnl`` = (final equity - initial cash) - attributed P&L.
- Return contribution = P&L / initial cash (fraction), so contributions add up.
- Sharpe of a group: the realised P&L is booked at the bar of each trade's exit (open trades
  at the last bar), divided by initial cash, and the annualised Sharpe ratio (risk-free rate 0,
  ddof=1) of that per-bar series is reported. The engine does not keep a per-strategy equity
  curve, so this is a realisation-based Sharpe.
- A ``strategy_id`` of the form ``"<ensemble_id>/<member_id>"`` marks a trade of an ensemble
  member: it counts toward strategy ``<ensemble_id>`` and, separately, toward member
  ``<member_id>`` under ``ensemble_members[<ensemble_id>]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from ai_trading_core.models import Trade

from .performance import PerformanceCalculator, json_number

UNASSIGNED = "unassigned"
ENSEMBLE_SEPARATOR = "/"


def split_strategy_id(strategy_id: str) -> tuple[str, str | None]:
    """``"ens/member"`` -> ``("ens", "member")``; ``"sma"`` -> ``("sma", None)``."""
    sid = strategy_id or UNASSIGNED
    head, sep, tail = sid.partition(ENSEMBLE_SEPARATOR)
    return (head, tail) if sep and head and tail else (sid, None)


def _ns(ts: datetime) -> int:
    ts = ts.astimezone(UTC).replace(tzinfo=None)
    return int(np.datetime64(ts, "ns").astype(np.int64))


def exit_bars(trades: Sequence[Trade], timestamps: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """Index of the bar at or before each trade's exit (open trades: the last bar)."""
    last = max(len(timestamps) - 1, 0)
    out = np.full(len(trades), last, dtype=np.intp)
    for i, t in enumerate(trades):
        if t.exit_time is not None and len(timestamps):
            out[i] = int(np.searchsorted(timestamps, _ns(t.exit_time), side="right")) - 1
    return np.clip(out, 0, last)


def attribute(
    trades: Sequence[Trade],
    timestamps: npt.NDArray[np.int64],
    initial_cash: float,
    final_equity: float,
    periods_per_year: float,
) -> dict[str, Any]:
    """The ``attribution`` section of the run document (JSON-safe)."""
    calc = PerformanceCalculator(periods_per_year=periods_per_year)
    pnl = np.array([float(t.pnl) for t in trades], dtype=np.float64)
    bars = exit_bars(trades, timestamps)
    n_bars = max(len(timestamps), 1)
    closed = np.array([not t.is_open for t in trades], dtype=bool)

    strategy_keys: list[str] = []
    member_keys: list[tuple[str, str] | None] = []
    for t in trades:
        head, member = split_strategy_id(t.strategy_id)
        strategy_keys.append(head)
        member_keys.append((head, member) if member is not None else None)

    def table(keys: Sequence[Any]) -> dict[Any, dict[str, Any]]:
        names = sorted({k for k in keys if k is not None}, key=str)
        if not names:
            return {}
        col = {k: j for j, k in enumerate(names)}
        idx = np.array([col[k] if k is not None else -1 for k in keys], dtype=np.intp)
        use = idx >= 0
        per_bar = np.zeros((n_bars, len(names)))
        np.add.at(per_bar, (bars[use], idx[use]), pnl[use] / initial_cash if initial_cash else 0.0)
        sharpe = np.atleast_1d(calc.sharpe(per_bar))
        rows: dict[Any, dict[str, Any]] = {}
        for name, j in col.items():
            mine = use & (idx == j)
            mine_closed = mine & closed
            n_closed = int(mine_closed.sum())
            group_pnl = float(pnl[mine].sum())
            rows[name] = {
                "pnl": group_pnl,
                "return_contribution": json_number(group_pnl / initial_cash) if initial_cash else None,
                "trades": n_closed,
                "win_rate": json_number(float((pnl[mine_closed] > 0).sum()) / n_closed) if n_closed else None,
                "sharpe": json_number(sharpe[j]),
            }
        return rows

    members: dict[str, dict[str, Any]] = {}
    for (ens, member), row in table(member_keys).items():
        members.setdefault(ens, {})[member] = row
    attributed = float(pnl.sum())
    total = final_equity - initial_cash
    return {
        "by_strategy": table(strategy_keys),
        "ensemble_members": members,
        "by_symbol": table([t.symbol for t in trades]),
        "total_pnl": total,
        "attributed_pnl": attributed,
        "unattributed_pnl": total - attributed,
    }
