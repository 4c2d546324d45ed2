"""A basic reporter: final equity, total return, trade count, win count and maximum
drawdown of the equity curve (fraction of the running peak). Full analytics live in
``ai-trading-analytics``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ai_trading_core.protocols import ReportSection
from ai_trading_core.result import RunResult


def max_drawdown(equity: np.ndarray) -> float:
    """Largest peak-to-trough fall as a positive fraction of the peak; 0 for no data."""
    if len(equity) == 0:
        return 0.0
    peaks = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peaks > 0, 1.0 - equity / peaks, 0.0)
    return float(dd.max())


class SummaryReporter:
    name = "summary"

    def report(self, result: RunResult) -> ReportSection:
        closed = [t for t in result.trades if not t.is_open]
        return ReportSection(metrics={
            "final_equity": float(result.final_equity),
            "total_return": result.total_return,
            "trade_count": len(closed),
            "winning_trades": sum(1 for t in closed if t.pnl > 0),
            "max_drawdown": max_drawdown(result.equity),
        })

    def render(self, result: RunResult, section: ReportSection, console: Any) -> None:
        from rich.table import Table

        m = section.metrics
        table = Table(title=f"Run {result.session.name or result.session.run_id[:8]} ({result.session.mode.value})")
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_row("bars", f"{len(result.timestamps):,}")
        table.add_row("symbols", ", ".join(result.session.symbols[:6]) + (" …" if len(result.session.symbols) > 6 else ""))
        table.add_row("initial equity", f"{float(result.session.initial_cash):,.2f} {result.session.currency}")
        table.add_row("final equity", f"{m['final_equity']:,.2f} {result.session.currency}")
        table.add_row("total return", f"{m['total_return']:.2%}")
        table.add_row("max drawdown", f"{m['max_drawdown']:.2%}")
        table.add_row("closed trades", f"{m['trade_count']} ({m['winning_trades']} winning)")
        table.add_row("risk events", str(len(result.risk_events)))
        console.print(table)
