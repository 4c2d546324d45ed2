"""Engine behaviour: one code path for backtest and paper, the ledger's arithmetic, and the
decision path failing closed."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from ai_trading_sim import SimulatedBroker

from ai_trading_core import hookimpl
from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import OrderStatus, RiskDecision, RiskState
from ai_trading_core.errors import BrokerTimeout, StorageError
from ai_trading_core.models import RiskVerdict
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel


def _trades(outcome):  # type: ignore[no-untyped-def]
    return [(t.symbol, t.side, t.quantity, t.entry_time, t.entry_price, t.exit_time, t.exit_price, t.pnl)
            for t in outcome.result.trades]


def test_paper_over_replay_equals_backtest(sma_config, ai_trading_panel) -> None:  # type: ignore[no-untyped-def]
    backtest = run_config(config_from_dict(sma_config), panel=ai_trading_panel)
    paper_cfg = {**sma_config, "run": {"mode": "paper"}}
    paper = run_config(config_from_dict(paper_cfg), panel=ai_trading_panel)
    assert paper.document["mode"] == "paper"
    assert len(backtest.result.trades) > 5
    assert _trades(paper) == _trades(backtest)
    np.testing.assert_array_equal(paper.result.equity, backtest.result.equity)
    assert paper.result.final_cash == backtest.result.final_cash


def test_cash_is_exactly_the_sum_of_fills(sma_config, ai_trading_panel) -> None:  # type: ignore[no-untyped-def]
    out = run_config(config_from_dict(sma_config), panel=ai_trading_panel)
    fills = out.result.fills
    expected = Decimal(100000) - sum((f.signed_quantity * f.price + f.commission for f in fills), Decimal(0))
    assert out.result.final_cash == expected
    positions: dict[str, Decimal] = {}
    for f in fills:
        positions[f.symbol] = positions.get(f.symbol, Decimal(0)) + f.signed_quantity
    assert out.result.final_positions == {k: v for k, v in positions.items() if v}
    # realised P&L of closed trades plus open P&L reconciles with the equity change
    pnl = sum((t.pnl for t in out.result.trades), Decimal(0))
    assert float(pnl) == pytest.approx(float(out.result.final_equity) - 100000, abs=1e-6)


def test_fills_at_next_open_hand_worked() -> None:
    # Four bars, one symbol; a strategy that goes long at bar 1's close.
    from ai_trading_core.enums import StrategyType
    from ai_trading_core.market import BarPanel

    class LongFromBarOne:
        strategy_id = "long"
        strategy_type = StrategyType.OTHER
        warmup = 0

        def __init__(self) -> None:
            self.n = 0

        def prepare(self, symbols, timeframe):  # type: ignore[no-untyped-def]
            pass

        def on_slice(self, market, history):  # type: ignore[no-untyped-def]
            self.n += 1
            return np.array([1.0 if self.n >= 2 else 0.0])

    day = 86_400 * 10**9
    panel = BarPanel(symbols=("X",), timestamps=np.arange(4, dtype=np.int64) * day,
                     open=np.array([[10.0], [11.0], [12.0], [13.0]]), high=np.array([[10.5], [11.5], [12.5], [13.5]]),
                     low=np.array([[9.5], [10.5], [11.5], [12.5]]), close=np.array([[10.0], [11.0], [12.5], [14.0]]),
                     volume=np.ones((4, 1)))

    class Plugin:
        @hookimpl
        def ai_trading_register_strategies(self, registry):  # type: ignore[no-untyped-def]
            registry.register("long_from_one", lambda p, c: LongFromBarOne())

    host = create_plugin_host(extra_plugins={"local": Plugin()})
    cfg = config_from_dict({"run": {"initial_cash": "1100"}, "data": {"name": "synthetic"},
                            "strategies": [{"name": "long_from_one"}], "audit": {"enabled": False}})
    out = run_config(cfg, host, panel=panel)
    (fill,) = out.result.fills
    # decided at bar 1 close (11.0): 1100 / 11 = 100 units, filled at bar 2 open 12.0
    assert fill.quantity == Decimal(100) and fill.price == Decimal("12")
    assert out.result.final_cash == Decimal(1100 - 1200)
    np.testing.assert_allclose(out.result.equity, [1100, 1100, 1100 - 1200 + 1250, 1100 - 1200 + 1400])


class _RaisingRisk:
    name = "raising"

    def check(self, orders, ctx):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("bug in risk check")

    def update(self, ctx):  # type: ignore[no-untyped-def]
        return None


class _RiskPlugin:
    @hookimpl
    def ai_trading_register_risk_checks(self, registry):  # type: ignore[no-untyped-def]
        registry.register("raising", lambda p, c: _RaisingRisk())
        registry.register("halve", lambda p, c: _HalvingRisk())


class _HalvingRisk:
    name = "halve"

    def check(self, orders, ctx):  # type: ignore[no-untyped-def]
        from ai_trading_core.market import to_datetime

        return [RiskVerdict(check="halve", decision=RiskDecision.RESIZE, approved_quantity=(o.quantity / 2).to_integral_value(),
                            requested_quantity=o.quantity, limit=0.5, measured=1.0, timestamp=to_datetime(ctx.timestamp))
                for o in orders]

    def update(self, ctx):  # type: ignore[no-untyped-def]
        return None


def test_raising_risk_check_rejects_and_halts(sma_config, ai_trading_panel) -> None:  # type: ignore[no-untyped-def]
    host = create_plugin_host(extra_plugins={"risky": _RiskPlugin()})
    out = run_config(config_from_dict({**sma_config, "risk": [{"name": "raising"}]}), host, panel=ai_trading_panel)
    assert out.result.fills == []
    assert out.result.orders and all(o.status is OrderStatus.REJECTED for o in out.result.orders)
    assert out.result.risk_events[-1].state is RiskState.HALTED
    assert "bug in risk check" in out.result.risk_events[-1].reason


def test_resize_verdict_is_applied_and_recorded(sma_config, ai_trading_panel) -> None:  # type: ignore[no-untyped-def]
    host = create_plugin_host(extra_plugins={"risky": _RiskPlugin()})
    base = run_config(config_from_dict(sma_config), panel=ai_trading_panel)
    out = run_config(config_from_dict({**sma_config, "risk": [{"name": "halve"}]}), host, panel=ai_trading_panel)
    first_base, first = base.result.orders[0], out.result.orders[0]
    assert first.quantity == (first_base.quantity / 2).to_integral_value()
    assert out.document["risk_verdicts"][0]["decision"] == "resize"


class _FailingStorage:
    def record_order(self, order):  # type: ignore[no-untyped-def]
        raise StorageError("database down")

    def record_order_update(self, order):  # type: ignore[no-untyped-def]
        pass

    def record_fill(self, fill):  # type: ignore[no-untyped-def]
        pass

    def close(self) -> None:
        pass


class _StoragePlugin:
    @hookimpl
    def ai_trading_register_storage(self, registry):  # type: ignore[no-untyped-def]
        registry.register("failing", lambda p, c: _FailingStorage())


def test_storage_failure_at_order_time_halts_without_sending(sma_config, ai_trading_panel) -> None:  # type: ignore[no-untyped-def]
    host = create_plugin_host(extra_plugins={"store": _StoragePlugin()})
    out = run_config(config_from_dict({**sma_config, "storage": {"name": "failing"}}), host, panel=ai_trading_panel)
    assert out.result.fills == []
    assert out.result.risk_events[0].state is RiskState.HALTED and "database down" in out.result.risk_events[0].reason


class TimeoutAfterAcceptBroker(SimulatedBroker):
    """Fakes a broker that accepts every order but whose answer is lost (a 504 after the
    order was placed): the order exists, the caller only sees a timeout."""

    def __init__(self) -> None:
        super().__init__()
        self.submissions = 0

    def submit_order(self, order):  # type: ignore[no-untyped-def]
        self.submissions += 1
        super().submit_order(order)
        raise BrokerTimeout("read timed out")


def test_timeout_leaves_order_unknown_then_resolves_without_resubmitting(sma_config, ai_trading_panel) -> None:  # type: ignore[no-untyped-def]
    broker = TimeoutAfterAcceptBroker()

    class Plugin:
        @hookimpl
        def ai_trading_register_brokers(self, registry):  # type: ignore[no-untyped-def]
            registry.register("lossy", lambda p, c: broker)

    host = create_plugin_host(extra_plugins={"lossy": Plugin()})
    out = run_config(config_from_dict({**sma_config, "broker": {"name": "lossy"}}), host, panel=ai_trading_panel)
    assert broker.submissions == len(out.result.orders)  # never resubmitted
    assert len(out.result.fills) == len({f.client_order_id for f in out.result.fills})
    assert all(o.status is OrderStatus.FILLED for o in out.result.orders[:-2])


class DuplicatingFillsBroker(SimulatedBroker):
    """Fakes a fill stream that delivers every execution twice (same execution_id)."""

    def on_market(self, market):  # type: ignore[no-untyped-def]
        events = super().on_market(market)
        events.fills = [f for f in events.fills for _ in range(2)]
        return events


def test_duplicate_fills_are_applied_once(sma_config, ai_trading_panel) -> None:  # type: ignore[no-untyped-def]
    class Plugin:
        @hookimpl
        def ai_trading_register_brokers(self, registry):  # type: ignore[no-untyped-def]
            registry.register("dup", lambda p, c: DuplicatingFillsBroker())

    host = create_plugin_host(extra_plugins={"dup": Plugin()})
    base = run_config(config_from_dict({**sma_config, "broker": {"name": "sim"}}), panel=ai_trading_panel)
    out = run_config(config_from_dict({**sma_config, "broker": {"name": "dup"}}), host, panel=ai_trading_panel)
    assert out.result.final_cash == base.result.final_cash
    assert len(out.result.fills) == len(base.result.fills)


def test_multiple_strategies_combine_by_weight(ai_trading_panel) -> None:
    cfg = config_from_dict({
        "data": {"name": "synthetic"}, "audit": {"enabled": False},
        "strategies": [{"name": "sma_crossover", "id": "a", "weight": 0.5, "params": {"fast": 5, "slow": 20}},
                       {"name": "sma_crossover", "id": "b", "weight": 0.5, "params": {"fast": 10, "slow": 40}}],
    })
    out = run_config(cfg, panel=ai_trading_panel)
    assert {o.strategy_id for o in out.result.orders} <= {"a", "b"}
    assert len({o.strategy_id for o in out.result.orders}) == 2


def test_audit_trail_links_decision_chain(sma_config, ai_trading_panel, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from ai_trading_core.audit import AuditHead, resolve_audit_key, verify_audit_file

    cfg = {
        **sma_config,
        "run": {"state_dir": str(tmp_path / "state")},
        "audit": {"enabled": True, "path": str(tmp_path / "audit.jsonl")},
    }
    out = run_config(config_from_dict(cfg), panel=ai_trading_panel)
    key = resolve_audit_key({}, tmp_path / "state", create=False)
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    order = out.result.orders[0]
    chain = [e["kind"] for e in events if e["correlation_id"] == order.correlation_id]
    assert chain[:2] == ["decision", "order"] and "fill" in chain
    # sealed on the clean stop, the head recorded in the run document and the manifest
    assert events[-1]["kind"] == "seal" and out.document["audit"]["head"] == events[-1]["hash"]
    assert json.loads(out.manifest_path.read_text())["audit"] == out.document["audit"]
    recorded = AuditHead(out.document["run_id"], events[-1]["hash"], len(events), "run document")
    assert verify_audit_file(tmp_path / "audit.jsonl", key, expected=(recorded,)).ok
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))


def test_empty_date_range_is_a_clear_error(sma_config) -> None:  # type: ignore[no-untyped-def]
    from ai_trading_core.errors import DataError

    panel = random_walk_panel(50, 1, seed=1)
    with pytest.raises(DataError, match="no bars"):
        run_config(config_from_dict({**sma_config, "run": {"start": "1990-01-01", "end": "1990-02-01"}}), panel=panel)
