"""The Python API of the original design: each name is the owning plugin's object, and each
facade behaves as documented (docs/python-api.md); examples/python_api.py runs end to end."""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ai_trading_core.api as api
from ai_trading_core.audit import read_audit_key_file, verify_audit_file
from ai_trading_core.enums import RiskState, Side, StrategyType, TimeFrame, Timeframe
from ai_trading_core.errors import AuditError, ConfigError, RiskError, UnknownComponentError
from ai_trading_core.market import History, MarketSlice
from ai_trading_core.models import Signal, StrategyPerformance

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 1, 5, 15, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _restore_logging() -> Any:
    """setup_institutional_logging replaces loguru's handlers: put the CLI's back afterwards."""
    yield
    from ai_trading_core.logs import configure_logging

    configure_logging("WARNING")


def signal(strength: float, symbol: str = "SPY", confidence: float = 1.0) -> Signal:
    return Signal(strategy_id="s1", symbol=symbol, timestamp=T0, strength=strength, confidence=confidence)


# --------------------------------------------------------------------------- the convenience module
def test_every_name_is_the_owning_modules_object() -> None:
    for name, (module_name, _) in api.SOURCES.items():
        assert getattr(api, name) is getattr(importlib.import_module(module_name), name), name
    assert sorted(api.SOURCES) == api.__all__ == dir(api)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        api.Nope  # noqa: B018


def test_enums_of_the_original_design() -> None:
    assert TimeFrame is Timeframe
    assert TimeFrame.MINUTE_5 is Timeframe.M5 and TimeFrame.DAILY is Timeframe.D1
    assert TimeFrame.MINUTE_5.seconds == 300
    assert [t.value for t in Timeframe] == ["1m", "5m", "15m", "30m", "1h", "4h", "1d"]  # aliases not listed
    assert StrategyType("momentum") is StrategyType.MOMENTUM


# --------------------------------------------------------------------------- logging and audit
def test_structured_logs_carry_correlation_ids_and_the_audit_chain_verifies(tmp_path: Path) -> None:
    stream = io.StringIO()
    logger, audit = api.setup_institutional_logging(
        log_level="INFO", stream=stream, audit_path=tmp_path / "audit.jsonl", state_dir=tmp_path / "state"
    )
    assert audit is not None
    try:
        with logger.contextualize(correlation_id="dec-9"):
            logger.info("considering {}", "SPY")
        event = audit.log_trade_decision(
            correlation_id="dec-9",
            strategy_id="s1",
            symbol="SPY",
            decision="BUY",
            reasoning="test",
            market_data={"close": Decimal("450.01")},
            position_size=0.05,
            risk_metrics={"var": np.float64(0.012)},
        )
    finally:
        audit.close()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [r for r in records if r["record"]["message"] == "considering SPY"]
    assert mine and mine[0]["record"]["extra"]["correlation_id"] == "dec-9"
    assert mine[0]["record"]["extra"]["run_id"] == audit.run_id
    assert event.payload["position_size"] == "0.05" and event.payload["market_data"] == {"close": "450.01"}
    key = read_audit_key_file(tmp_path / "state" / "audit-hmac.key")
    verdict = verify_audit_file(tmp_path / "audit.jsonl", key)
    assert verdict.ok and verdict.lines == 2 and verdict.sealed
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["trade_decision", "seal"]
    # a sealed trail takes nothing more
    again = api.AuditLogger(tmp_path / "audit.jsonl", key=key)
    with pytest.raises(AuditError, match="sealed"):
        again.log("note", {})


def test_a_tampered_decision_is_detected(tmp_path: Path) -> None:
    _, audit = api.setup_institutional_logging(
        stream=io.StringIO(), audit_path=tmp_path / "a.jsonl", state_dir=tmp_path / "state"
    )
    assert audit is not None
    audit.log_trade_decision(correlation_id="c", strategy_id="s", symbol="SPY", decision="BUY", position_size="0.05")
    audit.close()
    path = tmp_path / "a.jsonl"
    path.write_text(path.read_text().replace('"0.05"', '"0.50"'))
    verdict = verify_audit_file(path, read_audit_key_file(tmp_path / "state" / "audit-hmac.key"))
    assert not verdict.ok and verdict.line == 1


# --------------------------------------------------------------------------- risk monitor
RISK = [{"name": "portfolio_limits", "params": {"max_position_weight": 0.25}}, {"name": "kill_switch"}]


def monitor(tmp_path: Path, risk: Any = RISK) -> Any:
    m = api.RiskMonitor(risk, state_dir=tmp_path / "state")
    m.update_positions({"SPY": 10})
    m.update_portfolio_metrics({"equity": 100_000, "cash": 95_500, "prices": {"SPY": 450}, "timestamp": T0})
    return m


def test_risk_monitor_allows_resizes_and_explains(tmp_path: Path) -> None:
    m = monitor(tmp_path)
    ok = asyncio.run(m.check_trade_signal(signal(0.05)))
    assert ok and ok.side is Side.BUY and ok.requested_quantity == 1 == ok.approved_quantity
    assert [v.check for v in ok.verdicts] == ["portfolio_limits", "kill_switch"]
    big = asyncio.run(m.check_trade_signal(signal(0.9)))
    assert big.requested_quantity == 190 and big.approved_quantity == 45  # 55 units = 24.75 %
    assert big.reasons == ("portfolio_limits: position_weight 0.9 > limit 0.25 with buy 190; resized to 45",)
    units = asyncio.run(m.check_trade_signal(signal(-1.0), quantity=5))
    assert units and units.side is Side.SELL and units.approved_quantity == 5


def test_risk_monitor_honours_the_kill_switch_state_shared_with_runs(tmp_path: Path) -> None:
    from ai_trading_killswitch import halt

    m = monitor(tmp_path)
    halt(tmp_path / "state", reason="operator stop", by="test", now=T0)
    assert m.update_portfolio_metrics({"equity": 100_000, "prices": {"SPY": 450}}) is RiskState.HALTED
    denied = asyncio.run(m.check_trade_signal(signal(0.05)))
    assert not denied and denied.approved_quantity == 0
    assert denied.reasons[0].startswith("risk state halted (kill_switch:") and "nothing may trade" in denied.reasons[0]


def test_risk_monitor_in_reducing_state_only_reduces(tmp_path: Path) -> None:
    m = monitor(tmp_path, [{"name": "circuit_breaker", "params": {"daily_loss_limit": 0.5, "rapid_loss_limit": 0.01}}])
    later = T0.replace(minute=35)
    m.update_portfolio_metrics(
        {"equity": 97_000, "day_start_equity": 100_000, "prices": {"SPY": 450}, "timestamp": later}
    )
    assert m.state is RiskState.REDUCING, m.state_reason
    assert not asyncio.run(m.check_trade_signal(signal(0.2)))  # an increase
    reduce = asyncio.run(m.check_trade_signal(signal(0.0)))  # flatten the 10 units
    assert reduce and reduce.side is Side.SELL and reduce.approved_quantity == 10


def test_risk_monitor_errors_are_typed(tmp_path: Path) -> None:
    with pytest.raises(UnknownComponentError, match="unknown risk_check 'nope'"):
        api.RiskMonitor([{"name": "nope"}])
    m = api.RiskMonitor([], state_dir=tmp_path)
    with pytest.raises(RiskError, match="no price"):
        asyncio.run(m.check_trade_signal(signal(0.1, symbol="QQQ")))
    with pytest.raises(RiskError, match="positive"):
        asyncio.run(m.check_trade_signal(signal(0.1), quantity=-1, price=10))


# --------------------------------------------------------------------------- Kelly sizing
def test_position_sizer_is_exact_and_matches_the_criterion() -> None:
    perf = StrategyPerformance(strategy_id="s1", trade_returns=[0.02, -0.01] * 15)
    kelly = api.KellyCriterion()
    sizer = api.PositionSizer(kelly_criterion=kelly, lot_size="0.01")
    sig = signal(-0.5, confidence=0.8)
    size = sizer.calculate_position_size("s1", sig, perf, equity="100000", price="333.33")
    fraction = kelly.calculate_kelly_fraction(strategy_id="s1", signal=sig, performance=perf)
    assert size.fraction == fraction == pytest.approx(min(0.25 * 0.5 * 0.8, 0.25))  # f* = 0.25, half Kelly
    exact = Decimal("-0.5") * Decimal(repr(fraction)) * Decimal("100000") / Decimal("333.33")
    assert size.quantity == Decimal("-15.00")
    assert abs(size.quantity) <= abs(exact) < abs(size.quantity) + Decimal("0.01")  # toward zero, to the lot
    assert size.notional == size.quantity * Decimal("333.33")
    with pytest.raises(ConfigError, match="price must be positive"):
        sizer.calculate_position_size("s1", sig, perf, equity=1000, price=0)
    nothing = api.PositionSizer().calculate_position_size("s1", sig, {}, equity=1000, price=10)
    assert nothing.quantity == 0 and str(nothing.quantity) == "0"


# --------------------------------------------------------------------------- seed-style strategies
class Crossing(api.TechnicalStrategy):  # type: ignore[name-defined,misc]
    def __init__(self) -> None:
        super().__init__("x", allocation=Decimal("0.5"), lookback=3)

    def calculate_indicators(self, data: Any) -> dict[str, float]:
        return {"mean": float(data["close"].mean()), "last": float(data["close"].iloc[-1]), "n": len(data)}

    async def generate_signals(self, market_data: Any, portfolio_metrics: Any, positions: Any) -> list[Signal]:
        out = []
        for symbol, data in market_data.items():
            ind = self.calculate_indicators(data)
            if ind["n"] >= 3:
                out.append(self.signal(symbol, 1.0 if ind["last"] > ind["mean"] else -1.0))
        return out


def feed(strategy: Any, closes: list[list[float]]) -> list[np.ndarray]:
    symbols = ("A", "B")
    strategy.prepare(symbols, Timeframe.D1)
    history = History(strategy.warmup, 2)
    out = []
    for i, row in enumerate(closes):
        c = np.array(row, dtype=float)
        m = MarketSlice(i * 86_400_000_000_000, symbols, c, c, c, c, np.ones(2))
        history.push(m)
        out.append(strategy.on_slice(m, history))
    return out


def test_seed_strategy_targets_are_strength_times_allocation() -> None:
    s = Crossing()
    assert s.warmup == 3  # the engine keeps lookback bars of history
    out = feed(s, [[1, 5], [2, 4], [3, 3], [2, float("nan")], [1, 4]])
    assert np.isnan(out[0]).all() and np.isnan(out[1]).all()  # fewer than 3 bars: no signal
    assert out[2].tolist() == [0.5, -0.5]
    assert out[3][0] == -0.5 and np.isnan(out[3][1])  # B has no bar: keeps its target
    assert out[4][0] == -0.5 and np.isnan(out[4][1])  # B's last 3 bars hold 2 closes: no signal


def test_seed_strategy_errors() -> None:
    class Waits(Crossing):
        async def generate_signals(self, market_data: Any, portfolio_metrics: Any, positions: Any) -> list[Signal]:
            await asyncio.sleep(0.01)
            return []

    with pytest.raises(ConfigError, match="awaited something that suspends"):
        feed(Waits(), [[1, 1]])

    class Stranger(Crossing):
        def generate_signals(self, market_data: Any, portfolio_metrics: Any, positions: Any) -> list[Signal]:
            return [self.signal("ZZZ", 1.0)]

    with pytest.raises(ConfigError, match="signal for 'ZZZ', not in the run's symbols"):
        feed(Stranger(), [[1, 1]])
    with pytest.raises(ConfigError, match="allocation must be a fraction"):
        api.TechnicalStrategy("y", allocation=Decimal("1.5"))


# --------------------------------------------------------------------------- the example
def test_python_api_example_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AI_TRADING_") and k != "TRADING_ENVIRONMENT"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "python_api.py"), "--port", "0", "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["closed_trades"] > 0
    assert 0 < summary["kelly_fraction"] <= 0.25
    assert Decimal(summary["position_units"]) > 0
    assert summary["dashboard_status"] == 200 and summary["dashboard_is_dash"]
    assert summary["dashboard_url"].startswith("http://127.0.0.1:")
    assert isinstance(summary["risk_allowed"], bool)
    key = read_audit_key_file(Path(summary["audit_state_dir"]) / "audit-hmac.key")
    verdict = verify_audit_file(Path(summary["audit"]), key)
    assert verdict.ok and verdict.lines == 2
    # the backtest's own run wrote its manifest like any run
    run_dir = tmp_path / "out" / "runs" / summary["run_id"]
    assert (run_dir / "manifest.json").is_file()


def test_risk_monitor_takes_metrics_as_an_object_with_attributes(tmp_path: Path) -> None:
    from dataclasses import dataclass

    @dataclass
    class PortfolioMetrics:  # the shape of the original design's portfolio metrics
        total_value: float
        cash: float
        prices: dict[str, float]

    m = api.RiskMonitor(RISK, state_dir=tmp_path / "state")
    m.update_positions({"SPY": 10})
    m.update_portfolio_metrics(PortfolioMetrics(total_value=100_000, cash=95_500, prices={"SPY": 450}))
    answer = asyncio.run(m.check_trade_signal(signal(0.05)))
    assert answer and answer.approved_quantity == 1


class SeedSma(api.TechnicalStrategy):  # type: ignore[name-defined,misc]
    """The sma_crossover plugin's rule (long while SMA 10 > SMA 30), written seed-style."""

    def __init__(self) -> None:
        super().__init__("seed-sma", strategy_type=StrategyType.MOMENTUM, lookback=30)

    def calculate_indicators(self, data: Any) -> dict[str, float]:
        close = data["close"]
        return {"fast": close.tail(10).mean(), "slow": close.tail(30).mean(), "bars": len(close)}

    def generate_signals(self, market_data: Any, portfolio_metrics: Any, positions: Any) -> list[Signal]:
        out = []
        for symbol, data in market_data.items():
            ind = self.calculate_indicators(data)
            if ind["bars"] >= 30:
                out.append(self.signal(symbol, 1.0 if ind["fast"] > ind["slow"] else 0.0))
        return out


def test_a_seed_strategy_runs_on_the_same_engine_as_the_plugin_it_mirrors(tmp_path: Path) -> None:
    host = api.create_plugin_host(
        only=["sample-data", "sim", "sma"], extra_plugins={"seed": api.strategy_plugin("seed_sma", SeedSma)}
    )
    docs = {}
    for name, params in (("sma_crossover", {"fast": 10, "slow": 30}), ("seed_sma", {})):
        config = api.config_from_dict(
            {
                "run": {"start": "2005-01-01", "end": "2007-12-31", "output_dir": str(tmp_path)},
                "audit": {"enabled": False},
                "data": {"name": "arch_indices", "params": {"symbols": ["SP500", "NASDAQ"]}},
                "strategies": [{"name": name, "id": "s", "params": params}],
            }
        )
        docs[name] = api.run_config(config, host).document
    plugin, seed = docs["sma_crossover"], docs["seed_sma"]
    assert plugin["metrics"]["trade_count"] > 10
    assert seed["trades"] == plugin["trades"]
    assert seed["final_equity"] == plugin["final_equity"]
