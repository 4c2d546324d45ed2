"""Execution costs from an execution broker's report (``RunResult.extra["execution"]``, see
the ai-trading-execution plugin): implementation shortfall and slippage, currency and bps
of notional, overall and per strategy and venue."""

from __future__ import annotations

from typing import Any

from ai_trading_core.protocols import ReportSection


def add_execution_costs(section: ReportSection, execution: dict[str, Any] | None) -> None:
    """Metrics ``implementation_shortfall`` (currency, positive is a cost),
    ``implementation_shortfall_bps`` and ``execution_slippage_bps`` (bps of notional), and
    attribution tables ``execution_by_strategy`` and ``execution_by_venue``. Nothing when the
    run's broker reported no execution."""
    if not execution:
        return
    total = execution.get("total") or {}
    section.metrics["implementation_shortfall"] = total.get("shortfall")
    section.metrics["implementation_shortfall_bps"] = total.get("shortfall_bps")
    section.metrics["execution_slippage_bps"] = total.get("slippage_bps")
    section.attribution["execution_by_strategy"] = execution.get("by_strategy", {})
    section.attribution["execution_by_venue"] = execution.get("by_venue", {})


EXECUTION_COLUMNS = ("Name", "Orders", "Notional", "Shortfall", "Shortfall bps", "Slippage bps", "Commission")


def execution_rows(rows: dict[str, dict[str, Any]]) -> list[list[str]]:
    def num(value: Any, digits: int) -> str:
        return "-" if value is None else f"{float(value):,.{digits}f}"

    return [
        [name, str(r.get("orders", 0)), num(r.get("notional"), 2), num(r.get("shortfall"), 2),
         num(r.get("shortfall_bps"), 2), num(r.get("slippage_bps"), 2), num(r.get("commission"), 2)]
        for name, r in rows.items()
    ]
