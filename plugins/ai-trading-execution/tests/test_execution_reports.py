"""The execution section as the analytics reporter and the dashboard show it."""

from __future__ import annotations

import io
from typing import Any

import pytest

from ai_trading_core.market import BarPanel

ALGO = {
    "algorithm": "vwap",
    "horizon_bars": 4,
    "venues": [
        {
            "name": "lit",
            "broker": "sim",
            "params": {"commission_bps": 1, "slippage_bps": 2},
            "commission_bps": 1.0,
            "max_order_quantity": "60",
        },
        {"name": "block", "broker": "sim", "params": {"commission_bps": 4}, "commission_bps": 4.0},
    ],
}


@pytest.fixture
def outcome(ai_trading_run: Any, ai_trading_panel: BarPanel) -> Any:
    pytest.importorskip("ai_trading_analytics")
    config = {
        "plugins": {"load": ["sim", "sma", "execution", "sample-data", "analytics"]},
        "data": {"name": "synthetic"},
        "strategies": [
            {"name": "sma_crossover", "id": "fast", "weight": 0.5, "params": {"fast": 3, "slow": 10}},
            {"name": "sma_crossover", "id": "slow", "weight": 0.5, "params": {"fast": 10, "slow": 40}},
        ],
        "broker": {"name": "algo", "params": ALGO},
        "reporters": [{"name": "analytics"}],
        "audit": {"enabled": False},
    }
    return ai_trading_run(config, panel=ai_trading_panel)


def test_analytics_reports_shortfall_and_slippage(outcome: Any) -> None:
    doc = outcome.document
    ex = doc["execution"]
    by_strategy = ex["by_strategy"]
    assert doc["metrics"]["implementation_shortfall"] == pytest.approx(
        sum(v["shortfall"] for v in by_strategy.values())
    )
    decision_notional = sum(v["shortfall"] / v["shortfall_bps"] * 1e4 for v in by_strategy.values())
    assert doc["metrics"]["implementation_shortfall_bps"] == pytest.approx(
        doc["metrics"]["implementation_shortfall"] / decision_notional * 1e4
    )
    assert doc["attribution"]["execution_by_strategy"] == by_strategy
    assert set(doc["attribution"]["execution_by_venue"]) == {"lit", "block"}  # slices above 60 go to block
    assert all(float(c["quantity"]) <= 60 for c in ex["children"] if c["venue"] == "lit")
    from rich.console import Console

    reporter, section = outcome.sections[0]
    console = Console(file=io.StringIO(), width=160)
    reporter.render(outcome.result, section, console)
    text = console.file.getvalue()
    assert "Execution costs by strategy" in text and "Execution costs by venue" in text and "block" in text


def test_dashboard_strategies_page_shows_execution_costs(outcome: Any) -> None:
    pytest.importorskip("ai_trading_dashboard")
    from ai_trading_dashboard.pages import strategies_page
    from ai_trading_dashboard.views import build_view

    page = strategies_page(build_view(outcome.document))
    tables: dict[str, list[list[str]]] = {}

    def walk(node: Any) -> None:
        if getattr(node, "id", None) in ("execution-strategy-table", "execution-venue-table"):
            body = node.children[1]
            tables[node.id] = [[td.children for td in tr.children] for tr in body.children]
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list) else [children] if children is not None else []:
            walk(child)

    walk(page)
    by_strategy = outcome.document["execution"]["by_strategy"]
    rows = {r[0]: r for r in tables["execution-strategy-table"]}
    assert set(rows) == set(by_strategy)
    for sid, v in by_strategy.items():
        assert rows[sid][3] == f"{v['shortfall']:,.2f}" and rows[sid][5] == f"{v['slippage_bps']:.2f}"
    assert {r[0] for r in tables["execution-venue-table"]} == {"lit", "block"}
