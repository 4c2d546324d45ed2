"""Rich tables of the analytics section for the end of ``ai-trading run``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

from ai_trading_core.protocols import ReportSection

from .execution import EXECUTION_COLUMNS, execution_rows

#: (label, metric key, format) in display order; format is pct, ratio, int, money or bars.
METRIC_ROWS: tuple[tuple[str, str, str], ...] = (
    ("Total return", "total_return", "pct"),
    ("CAGR", "cagr", "pct"),
    ("Volatility (ann.)", "volatility", "pct"),
    ("Sharpe", "sharpe", "ratio"),
    ("Sortino", "sortino", "ratio"),
    ("Calmar", "calmar", "ratio"),
    ("Information ratio", "information_ratio", "ratio"),
    ("Benchmark total return", "benchmark_total_return", "pct"),
    ("Max drawdown", "max_drawdown", "pct"),
    ("Max drawdown duration", "max_drawdown_duration_bars", "bars"),
    ("VaR 95 % (historical)", "var_95_historical", "pct"),
    ("VaR 99 % (historical)", "var_99_historical", "pct"),
    ("VaR 95 % (parametric)", "var_95_parametric", "pct"),
    ("VaR 99 % (parametric)", "var_99_parametric", "pct"),
    ("CVaR 95 %", "cvar_95", "pct"),
    ("CVaR 99 %", "cvar_99", "pct"),
    ("Trades (closed)", "trades", "int"),
    ("Win rate", "win_rate", "pct"),
    ("Profit factor", "profit_factor", "ratio"),
    ("Expectancy", "expectancy", "money"),
    ("Average win", "average_win", "money"),
    ("Average loss", "average_loss", "money"),
    ("Exposure (mean gross)", "exposure", "pct"),
    ("Turnover (ann.)", "turnover", "ratio"),
)


def fmt(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "ratio":
        return f"{value:.2f}"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "bars":
        return f"{int(value)} bars"
    return str(value)


def metrics_table(metrics: Mapping[str, Any]) -> Table:
    table = Table(title="Performance", title_justify="left")
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    for label, key, kind in METRIC_ROWS:
        if key in metrics:
            table.add_row(label, fmt(metrics[key], kind))
    return table


ATTRIBUTION_COLUMNS = ("Name", "P&L", "Contribution", "Trades", "Win rate", "Sharpe")


def attribution_rows(
    rows: Mapping[str, Mapping[str, Any]], limit: int | None = None
) -> list[tuple[str, ...]]:
    """Formatted cells per group (columns as :data:`ATTRIBUTION_COLUMNS`), largest |P&L| first."""
    ordered = sorted(rows.items(), key=lambda kv: -abs(kv[1]["pnl"]))
    return [
        (
            str(name),
            fmt(row["pnl"], "money"),
            fmt(row["return_contribution"], "pct"),
            str(row["trades"]),
            fmt(row["win_rate"], "pct"),
            fmt(row["sharpe"], "ratio"),
        )
        for name, row in (ordered[:limit] if limit is not None else ordered)
    ]


def attribution_table(title: str, rows: Mapping[str, Mapping[str, Any]], limit: int | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for head in ATTRIBUTION_COLUMNS:
        table.add_column(head, justify="left" if head == "Name" else "right")
    for cells in attribution_rows(rows, limit):
        table.add_row(*cells)
    return table


def render_section(section: ReportSection, console: Any, top_symbols: int = 10) -> None:
    console.print(metrics_table(section.metrics))
    attribution = section.attribution
    if attribution.get("by_strategy"):
        console.print(attribution_table("Attribution by strategy", attribution["by_strategy"]))
    for ensemble, members in attribution.get("ensemble_members", {}).items():
        console.print(attribution_table(f"Ensemble {ensemble}: members", members))
    for key, title in (("execution_by_strategy", "Execution costs by strategy"),
                       ("execution_by_venue", "Execution costs by venue")):
        if attribution.get(key):
            table = Table(title=title, title_justify="left")
            for head in EXECUTION_COLUMNS:
                table.add_column(head, justify="left" if head == "Name" else "right")
            for cells in execution_rows(attribution[key]):
                table.add_row(*cells)
            console.print(table)
    if attribution.get("by_symbol") and top_symbols:
        rows = attribution["by_symbol"]
        title = "Attribution by symbol" + (
            f" (top {top_symbols} by |P&L|)" if len(rows) > top_symbols else ""
        )
        console.print(attribution_table(title, rows, limit=top_symbols))
