"""The ``analytics`` reporter: metrics and attribution of a run, a terminal table and an HTML
tearsheet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ai_trading_core.protocols import ReportSection
from ai_trading_core.result import RunResult

from .attribution import attribute
from .execution import add_execution_costs
from .params import AnalyticsParams
from .performance import PerformanceCalculator, json_number
from .trades import trade_statistics

FloatArray = npt.NDArray[np.float64]


def forward_filled(values: npt.ArrayLike) -> FloatArray | None:
    """Benchmark closes with gaps (NaN, non-positive) filled by the previous valid close and
    leading gaps by the first valid one; ``None`` when no close is valid."""
    x = np.asarray(values, dtype=np.float64).copy()
    valid = np.isfinite(x) & (x > 0)
    if not valid.any():
        return None
    idx = np.where(valid, np.arange(x.size), 0)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.argmax(valid))
    idx[:first] = first
    return x[idx]


class AnalyticsReporter:
    """Implements ``ai_trading_core.protocols.Reporter`` (plus ``write_report``)."""

    name = "analytics"

    def __init__(self, params: AnalyticsParams | None = None) -> None:
        self.params = params or AnalyticsParams()

    # ------------------------------------------------------------------ numbers
    def calculator(self, result: RunResult) -> PerformanceCalculator:
        ppy = self.params.periods_per_year or result.session.timeframe.periods_per_year
        return PerformanceCalculator(periods_per_year=ppy, risk_free_rate=self.params.risk_free_rate)

    def returns(self, result: RunResult) -> FloatArray:
        """Per-bar returns of the equity curve anchored at the initial cash (one per bar)."""
        calc = self.calculator(result)
        out: FloatArray = np.asarray(
            calc.returns_from_equity(result.equity, initial=float(result.session.initial_cash)),
            dtype=np.float64,
        )
        return out

    def benchmark_returns(self, result: RunResult) -> FloatArray | None:
        """Per-bar returns of the benchmark, anchored at its first close (so the first is 0)."""
        if result.benchmark is None or len(result.benchmark) != len(result.equity) or not len(result.equity):
            return None
        closes = forward_filled(result.benchmark)
        if closes is None:
            return None
        calc = self.calculator(result)
        out: FloatArray = np.asarray(
            calc.returns_from_equity(closes, initial=float(closes[0])), dtype=np.float64
        )
        return out

    def metrics(self, result: RunResult) -> dict[str, Any]:
        calc = self.calculator(result)
        rets = self.returns(result)
        bench = self.benchmark_returns(result)
        values: dict[str, Any] = {k: json_number(v) for k, v in calc.compute(rets, bench).items()}
        for key in (
            "benchmark_total_return",
            "benchmark_cagr",
            "excess_return",
            "tracking_error",
            "information_ratio",
        ):
            values.setdefault(key, None)
        for key in ("max_drawdown_duration_bars", "longest_drawdown_bars"):
            values[key] = int(values[key] or 0)

        equity = np.asarray(result.equity, dtype=np.float64)
        gross = np.asarray(result.gross_exposure, dtype=np.float64)
        net = np.asarray(result.net_exposure, dtype=np.float64)
        positive = equity > 0
        n_bars = len(equity)
        values["exposure"] = (
            json_number(np.mean(gross[positive] / equity[positive])) if positive.any() else 0.0
        )
        values["net_exposure"] = (
            json_number(np.mean(net[positive] / equity[positive])) if positive.any() else 0.0
        )
        values["time_in_market"] = float(np.mean(gross > 0)) if n_bars else 0.0
        notional = float(sum(f.notional for f in result.fills))
        mean_equity = float(equity.mean()) if n_bars else 0.0
        values["traded_notional"] = notional
        values["turnover"] = (
            json_number(notional / mean_equity * calc.periods_per_year / n_bars)
            if n_bars and mean_equity > 0
            else 0.0
        )
        values.update({k: json_number(v) for k, v in trade_statistics(result.trades).as_dict().items()})
        values["bars"] = n_bars
        values["years"] = n_bars / calc.periods_per_year
        values["periods_per_year"] = calc.periods_per_year
        values["risk_free_rate"] = calc.risk_free_rate
        values["initial_equity"] = float(result.session.initial_cash)
        values["final_equity"] = float(result.final_equity)
        return values

    # ------------------------------------------------------------------ Reporter protocol
    def report(self, result: RunResult) -> ReportSection:
        ppy = self.calculator(result).periods_per_year
        section = ReportSection(
            metrics=self.metrics(result),
            attribution=attribute(
                result.trades,
                result.timestamps,
                float(result.session.initial_cash),
                float(result.final_equity),
                ppy,
            ),
        )
        add_execution_costs(section, result.extra.get("execution"))
        return section

    def render(self, result: RunResult, section: ReportSection, console: Any) -> None:
        from .terminal import render_section

        render_section(section, console, top_symbols=self.params.top_symbols)

    def write_report(self, result: RunResult, section: ReportSection, path: str | Path) -> Path:
        """Write the standalone HTML tearsheet (plotly.js inline, opens offline) to ``path``."""
        from .tearsheet import write_tearsheet

        return write_tearsheet(self, result, section, Path(path))
