"""End to end: the engine trading through the ``algo`` broker over a simulated venue."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from ai_trading_core.errors import ConfigError
from ai_trading_core.market import BarPanel, to_ns


def config(broker_params: dict[str, Any]) -> dict[str, Any]:
    return {
        "plugins": {"load": ["sim", "sma", "execution", "sample-data"]},
        "data": {"name": "synthetic"},
        "strategies": [
            {"name": "sma_crossover", "id": "fast", "weight": 0.5, "params": {"fast": 3, "slow": 10}},
            {"name": "sma_crossover", "id": "slow", "weight": 0.5, "params": {"fast": 10, "slow": 40}},
        ],
        "broker": {"name": "algo", "params": broker_params},
        "audit": {"enabled": False},
    }


ALGO = {
    "algorithm": "twap",
    "horizon_bars": 3,
    "shadow": True,
    "venues": [
        {
            "name": "primary",
            "broker": "sim",
            "params": {"commission_bps": 1, "max_participation": 0.5},
            "commission_bps": 1.0,
        }
    ],
}


def test_algo_broker_run_reports_shortfall_per_strategy(
    ai_trading_run: Any, ai_trading_panel: BarPanel
) -> None:
    out = ai_trading_run(config(ALGO), panel=ai_trading_panel)
    result, doc = out.result, out.document
    assert result.fills and doc["execution"] == result.extra["execution"]
    ex = doc["execution"]
    orders = {o.client_order_id: o for o in result.orders}
    assert all(o.parent_id is None for o in orders.values())  # the engine sees parents only
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in ex["children"]:
        children[c["parent_id"]].append(c)
    assert set(children) <= set(orders)
    for coid, kids in children.items():
        order = orders[coid]
        assert [k["client_order_id"] for k in kids] == [f"{coid}-c{n}" for n in range(1, len(kids) + 1)]
        if order.status.value == "filled":
            assert sum(Decimal(k["quantity"]) for k in kids) == order.quantity == order.filled_quantity
    assert len({f.execution_id for f in result.fills}) == len(result.fills)
    assert {f.venue for f in result.fills} == {"primary"}

    # implementation shortfall per strategy, recomputed from the engine's own fills and the
    # panel's close at each decision bar (orders are created at the decision bar's close)
    tf = int(ai_trading_panel.timeframe.seconds * 1e9)
    expected: dict[str, float] = defaultdict(float)
    for f in result.fills:
        o = orders[f.client_order_id]
        row = int(np.searchsorted(ai_trading_panel.timestamps, to_ns(o.created_at) - tf))
        decision = ai_trading_panel.close[row, ai_trading_panel.symbols.index(o.symbol)]
        expected[o.strategy_id] += (float(f.price) - float(Decimal(repr(float(decision))))) * float(
            f.signed_quantity
        )
    by_strategy = ex["by_strategy"]
    assert set(by_strategy) == set(expected) and set(expected) <= {"fast", "slow"}
    for sid, value in expected.items():
        assert by_strategy[sid]["shortfall"] == pytest.approx(value, rel=1e-9, abs=1e-6)
        assert by_strategy[sid]["shortfall_bps"] is not None and by_strategy[sid]["slippage_bps"] is not None
    assert ex["by_venue"]["primary"]["orders"] == len(ex["children"])
    summary = ex["shadow"]["summary"]
    assert summary["orders"] == len(orders) and summary["compared"] > 0
    # only finished orders are compared; the rest are listed apart, never as mismatches
    rows = ex["shadow"]["orders"]
    parents = {p["client_order_id"]: p for p in ex["parents"]}
    open_ids = [r["client_order_id"] for r in rows if not r["finished"]]
    assert summary["unfinished"] == {"orders": len(open_ids), "client_order_ids": open_ids}
    assert summary["finished"] + len(open_ids) == len(rows)
    terminal = {"filled", "cancelled", "rejected", "expired"}
    assert all(parents[r["client_order_id"]]["status"] in terminal for r in rows if r["finished"])
    assert summary["quantity_mismatches"] == sum(
        1 for r in rows if r["finished"] and Decimal(r["quantity_difference"]) != 0
    )


def test_unknown_venue_broker_is_a_config_error(ai_trading_run: Any, ai_trading_panel: BarPanel) -> None:
    bad = dict(ALGO, venues=[{"name": "x", "broker": "no-such-broker"}])
    with pytest.raises(ConfigError, match="no-such-broker"):
        ai_trading_run(config(bad), panel=ai_trading_panel)


def test_pov_slices_alike_in_backtest_and_paper_on_known_volume_only(
    ai_trading_run: Any, ai_trading_panel: BarPanel
) -> None:
    pov = dict(ALGO, algorithm="pov", participation=0.02, shadow=False)
    docs = {}
    for mode in ("backtest", "paper"):
        cfg = config(pov)
        cfg["run"] = {"mode": mode}
        docs[mode] = ai_trading_run(cfg, panel=ai_trading_panel).document["execution"]
    slices = {m: [(c["symbol"], c["sent_at"], c["quantity"], c["bar"]) for c in d["children"]] for m, d in docs.items()}
    assert slices["backtest"] and slices["backtest"] == slices["paper"]
    # every child sent at bar t is at most 2 % of the symbol's volume at bar t - 1
    ts = {int(t): i for i, t in enumerate(ai_trading_panel.timestamps)}
    for c in docs["backtest"]["children"]:
        row = ts[to_ns(datetime.fromisoformat(c["sent_at"]))]
        j = ai_trading_panel.symbols.index(c["symbol"])
        known = ai_trading_panel.volume[row - 1, j]
        assert Decimal(c["quantity"]) <= Decimal(repr(0.02 * float(known))) + 1
