"""Tests of the {{ cookiecutter.component }} {{ cookiecutter.role | replace('_', ' ') }}: the kernel's contract suite for the role, a
hand-worked example, and a backtest through the real engine."""

from __future__ import annotations

{% if cookiecutter.role in ("broker", "sizer", "risk_check") -%}
from decimal import Decimal
{% endif -%}
from typing import Any

import numpy as np
import pytest

from ai_trading_core.config import config_from_dict
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import RunOutcome, run_config
{%- if cookiecutter.role != "data_source" %}
from ai_trading_core.testing import random_walk_panel
{%- endif %}
{%- if cookiecutter.role == "strategy" %}
from ai_trading_core.testing.contracts import StrategyContract as Contract
{%- elif cookiecutter.role == "data_source" %}
from ai_trading_core.testing.contracts import DataSourceContract as Contract
{%- elif cookiecutter.role == "broker" %}
from ai_trading_core.testing.contracts import BrokerContract as Contract
{%- elif cookiecutter.role == "sizer" %}
from ai_trading_core.testing.contracts import SizerContract as Contract
{%- elif cookiecutter.role == "risk_check" %}
from ai_trading_core.testing.contracts import RiskCheckContract as Contract
{%- endif %}
from {{ cookiecutter.package }} import {{ cookiecutter.class_name }}, {{ cookiecutter.class_name }}Params
from {{ cookiecutter.package }} import plugin

ENTRY_POINT = "{{ cookiecutter.feature }}"


def run(config: dict[str, Any], tmp_path: Any, panel: Any = None) -> RunOutcome:
    """Run ``config`` with this plugin registered directly (installed or not)."""
    host = create_plugin_host(disable=[ENTRY_POINT], extra_plugins={ENTRY_POINT: plugin})
    config = {**config, "run": {"output_dir": str(tmp_path / "runs"), "state_dir": str(tmp_path / "state")},
              "audit": {"enabled": False}}
    return run_config(config_from_dict(config), host, panel=panel)


{% if cookiecutter.role == "strategy" -%}
class TestContract(Contract):
    @pytest.fixture
    def strategy(self) -> {{ cookiecutter.class_name }}:
        return {{ cookiecutter.class_name }}({{ cookiecutter.class_name }}Params(lookback=10, long_only=False))


def targets(closes: list[float], lookback: int) -> list[float]:
    from ai_trading_core.market import BarPanel, History

    c = np.array(closes)[:, None]
    ts = np.arange(len(closes), dtype=np.int64) * 86_400 * 10**9
    panel = BarPanel(symbols=("X",), timestamps=ts, open=c, high=c, low=c, close=c, volume=np.ones_like(c))
    strategy = {{ cookiecutter.class_name }}({{ cookiecutter.class_name }}Params(lookback=lookback, long_only=False))
    history = History(lookback + 1, 1)
    out = []
    for i in range(len(closes)):
        history.push(panel.slice_at(i))
        out.append(float(strategy.on_slice(panel.slice_at(i), history)[0]))
    return out


def test_hand_worked_example() -> None:
    # lookback 3: bar 2 mean(10, 12, 11) = 11, close 11 not above -> -1;
    # bar 3 mean(12, 11, 8) = 10.33 > 8 -> -1; bar 4 mean(11, 8, 13) = 10.67 < 13 -> 1
    out = targets([10.0, 12.0, 11.0, 8.0, 13.0], 3)
    assert np.isnan(out[0]) and np.isnan(out[1])
    assert out[2:] == [-1.0, -1.0, 1.0]


def test_backtest(tmp_path: Any) -> None:
    outcome = run({
        "data": {"name": "synthetic"},
        "strategies": [{"name": "{{ cookiecutter.component }}", "id": "mine", "params": {"lookback": 20}}],
        "broker": {"name": "sim"},
    }, tmp_path, panel=random_walk_panel(250, 3, seed=4))
    assert outcome.result.fills
    assert {o.strategy_id for o in outcome.result.orders} == {"mine"}
{%- elif cookiecutter.role == "data_source" -%}
class TestContract(Contract):
    @pytest.fixture
    def data_source(self) -> {{ cookiecutter.class_name }}:
        return {{ cookiecutter.class_name }}({{ cookiecutter.class_name }}Params(n_symbols=2, n_bars=50, seed=1))


def test_same_seed_same_panel() -> None:
    a = {{ cookiecutter.class_name }}({{ cookiecutter.class_name }}Params(seed=3)).load()
    b = {{ cookiecutter.class_name }}({{ cookiecutter.class_name }}Params(seed=3)).load()
    np.testing.assert_array_equal(a.close, b.close)
    assert a.shape == (500, 3)
    # bars are labelled by their open time: UTC midnight, one day apart
    assert np.all(np.diff(a.timestamps) == 86_400 * 10**9) and a.timestamps[0] % (86_400 * 10**9) == 0


def test_backtest(tmp_path: Any) -> None:
    outcome = run({
        "data": {"name": "{{ cookiecutter.component }}", "params": {"n_symbols": 2, "n_bars": 200, "seed": 2}},
        "strategies": [{"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "broker": {"name": "sim"},
    }, tmp_path)
    assert outcome.document["bars"] == 200 and outcome.document["symbols"] == ["S000", "S001"]
    assert outcome.result.fills
{%- elif cookiecutter.role == "broker" -%}
class TestContract(Contract):
    @pytest.fixture
    def broker(self) -> {{ cookiecutter.class_name }}:
        return {{ cookiecutter.class_name }}({{ cookiecutter.class_name }}Params())


def test_backtest_fills_at_next_open(tmp_path: Any) -> None:
    panel = random_walk_panel(200, 2, seed=6)
    outcome = run({
        "data": {"name": "synthetic"},
        "strategies": [{"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "broker": {"name": "{{ cookiecutter.component }}", "params": {"commission_bps": 10}},
    }, tmp_path, panel=panel)
    fills = outcome.result.fills
    assert fills
    for fill in fills:
        row = int(np.searchsorted(panel.timestamps, int(fill.timestamp.timestamp()) * 10**9))
        expected = panel.open[row, panel.symbols.index(fill.symbol)]
        assert abs(float(fill.price) - expected) <= 0.01  # the next bar's open, rounded to the tick
        assert fill.commission == fill.quantity * fill.price * Decimal(10) / Decimal(10_000)
{%- elif cookiecutter.role == "sizer" -%}
class TestContract(Contract):
    @pytest.fixture
    def sizer(self) -> {{ cookiecutter.class_name }}:
        return {{ cookiecutter.class_name }}({{ cookiecutter.class_name }}Params(fraction=0.2))


def test_hand_worked_example() -> None:
    ctx = TestContract().context(equity=50_000.0)
    ctx.prices[:] = [100.0, 250.0, 40.0, 10.0]
    out = {{ cookiecutter.class_name }}({{ cookiecutter.class_name }}Params(fraction=0.2)).target_positions(
        np.array([1.0, -0.5, 0.0, np.nan]), ctx)
    # 0.2 × 50,000 = 10,000 per symbol at full strength
    np.testing.assert_allclose(out[:3], [100.0, -20.0, 0.0])
    assert np.isnan(out[3])


def test_backtest(tmp_path: Any) -> None:
    outcome = run({
        "data": {"name": "synthetic"},
        "strategies": [{"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "sizer": {"name": "{{ cookiecutter.component }}", "params": {"fraction": 0.1}},
        "broker": {"name": "sim"},
    }, tmp_path, panel=random_walk_panel(200, 3, seed=8))
    panel = random_walk_panel(200, 3, seed=8)
    first = outcome.result.orders[0]
    # decided at the close of the bar before created_at (bars are labelled by open time)
    row = int(np.searchsorted(panel.timestamps, int(first.created_at.timestamp()) * 10**9)) - 1
    close = panel.close[row, panel.symbols.index(first.symbol)]
    assert first.quantity == Decimal(int(0.1 * 100_000 / close))  # strength 1, rounded down to the lot
{%- elif cookiecutter.role == "risk_check" -%}
class TestContract(Contract):
    @pytest.fixture
    def risk_check(self) -> {{ cookiecutter.class_name }}:
        return {{ cookiecutter.class_name }}({{ cookiecutter.class_name }}Params(max_order_fraction=0.01))


def test_hand_worked_example() -> None:
    suite = TestContract()
    ctx = suite.context()
    ctx.prices[:] = [100.0, 100.0, np.nan, 100.0]
    check = {{ cookiecutter.class_name }}({{ cookiecutter.class_name }}Params(max_order_fraction=0.05))
    # equity 100,000: at most 5,000 of notional = 50 units at 100; no price for the third symbol
    verdicts = check.check(suite.orders(10, -80, 3), ctx)
    assert [v.decision.value for v in verdicts] == ["approve", "resize", "reject"]
    assert verdicts[1].approved_quantity == Decimal(50)
    assert verdicts[1].measured == pytest.approx(0.08)


def test_backtest(tmp_path: Any) -> None:
    outcome = run({
        "data": {"name": "synthetic"},
        "strategies": [{"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "risk": [{"name": "{{ cookiecutter.component }}", "params": {"max_order_fraction": 0.1}}],
        "broker": {"name": "sim"},
    }, tmp_path, panel=random_walk_panel(200, 2, seed=3))
    resized = [v for v in outcome.result.risk_verdicts if v.decision.value == "resize"]
    assert resized, "the equal-weight orders (half of equity each) exceed 10 % and must be resized"
    for v in resized:
        assert v.approved_quantity is not None and v.requested_quantity is not None and v.measured is not None
        # measured = requested × price / equity, so the limit allows limit / measured × requested units
        assert 0 < v.approved_quantity < v.requested_quantity
        assert float(v.approved_quantity) <= v.limit / v.measured * float(v.requested_quantity) + 1e-9
{%- endif %}
