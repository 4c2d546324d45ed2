"""The ``circuit_breaker`` risk check: update() requests, check() verdicts, the factory and
the ``ai-trading risk`` commands."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import click
import numpy as np
import pytest
from ai_trading_circuit_breaker import (
    CircuitBreakerCheck,
    CircuitBreakerParams,
    build_circuit_breaker,
    state_path,
)
from ai_trading_circuit_breaker.cli import register
from click.testing import CliRunner

from ai_trading_core.enums import RiskDecision, RiskState, RunMode, Side
from ai_trading_core.market import History, to_datetime
from ai_trading_core.models import Order, utc
from ai_trading_core.protocols import RiskCheck, RiskContext
from ai_trading_core.registry import BuildContext

DAY = 86_400 * 1_000_000_000
T0 = int(utc(2008, 10, 6).timestamp()) * 1_000_000_000


def ctx(
    day: int, equity: float, day_start: float, positions: tuple[float, float] = (10.0, 0.0)
) -> RiskContext:
    return RiskContext(
        timestamp=T0 + day * DAY,
        symbols=("SP500", "NASDAQ"),
        prices=np.array([1000.0, 2000.0]),
        positions=np.array(positions),
        equity=equity,
        cash=equity - 10_000.0,
        peak_equity=max(equity, day_start),
        day_start_equity=day_start,
        history=History(2, 2),
        state=RiskState.ACTIVE,
        symbol_index={"SP500": 0, "NASDAQ": 1},
    )


def order(symbol: str, side: Side, qty: str, n: int = 0) -> Order:
    return Order(
        client_order_id=f"o{n}",
        symbol=symbol,
        side=side,
        quantity=Decimal(qty),
        correlation_id=f"c{n}",
        created_at=utc(2008, 10, 6),
    )


def build(tmp_path: Path, mode: RunMode = RunMode.BACKTEST, **params: object) -> CircuitBreakerCheck:
    bctx = BuildContext(component_id="circuit_breaker", mode=mode, state_dir=tmp_path)
    return build_circuit_breaker(CircuitBreakerParams.model_validate(params), bctx)


def test_is_a_risk_check_and_requests_halt_while_tripped(tmp_path: Path) -> None:
    check = build(tmp_path, daily_loss_limit=0.05)
    assert isinstance(check, RiskCheck)
    assert check.update(ctx(0, 100_000.0, 100_000.0)) is None
    request = check.update(ctx(1, 94_000.0, 100_000.0))
    assert request is not None and request.state is RiskState.HALTED
    assert request.measured == pytest.approx(0.06) and request.limit == 0.05
    # every later step repeats the request, even after a recovery
    again = check.update(ctx(2, 99_000.0, 94_000.0))
    assert again is not None and again.state is RiskState.HALTED
    assert not (tmp_path / "circuit-breaker").exists()  # backtests do not persist by default


def test_verdicts_per_state(tmp_path: Path) -> None:
    check = build(tmp_path, daily_loss_limit=0.05, daily_loss_action="reducing")
    orders = [
        order("SP500", Side.SELL, "4", 0),
        order("SP500", Side.BUY, "1", 1),
        order("NASDAQ", Side.BUY, "1", 2),
        order("SP500", Side.SELL, "11", 3),
    ]
    c = ctx(0, 100_000.0, 100_000.0)
    verdicts = check.check(orders, c)
    assert [v.decision for v in verdicts] == [RiskDecision.APPROVE] * 4
    assert [v.client_order_id for v in verdicts] == ["o0", "o1", "o2", "o3"]
    assert [v.correlation_id for v in verdicts] == ["c0", "c1", "c2", "c3"]
    assert all(v.timestamp == to_datetime(c.timestamp) for v in verdicts)

    check.update(ctx(1, 94_000.0, 100_000.0))  # REDUCING
    verdicts = check.check(orders, ctx(1, 94_000.0, 100_000.0))
    # only the sell of 4 out of a long of 10 reduces; buying more, a new position and a flip do not
    assert [v.decision for v in verdicts] == [
        RiskDecision.APPROVE,
        RiskDecision.REJECT,
        RiskDecision.REJECT,
        RiskDecision.REJECT,
    ]
    assert verdicts[1].measured == pytest.approx(0.06) and verdicts[1].limit == 0.05


def test_halted_rejects_everything(tmp_path: Path) -> None:
    check = build(tmp_path, daily_loss_limit=0.05)
    check.update(ctx(1, 90_000.0, 100_000.0))
    verdicts = check.check([order("SP500", Side.SELL, "4")], ctx(1, 90_000.0, 100_000.0))
    assert verdicts[0].decision is RiskDecision.REJECT
    assert "halted" in verdicts[0].reason and verdicts[0].approved_quantity == 0


def test_paper_mode_persists_and_a_restart_starts_tripped(tmp_path: Path) -> None:
    check = build(tmp_path, RunMode.PAPER, daily_loss_limit=0.05)
    check.update(ctx(1, 90_000.0, 100_000.0))
    path = state_path(tmp_path, "circuit_breaker")
    assert path.exists()
    restarted = build(tmp_path, RunMode.PAPER, daily_loss_limit=0.05)
    assert restarted.breaker.is_tripped()
    request = restarted.update(ctx(2, 100_000.0, 100_000.0))
    assert request is not None and request.state is RiskState.HALTED


def test_unknown_param_is_rejected() -> None:
    with pytest.raises(ValueError):
        CircuitBreakerParams.model_validate({"daily_loss": 0.05})


# --------------------------------------------------------------------------- CLI
def root() -> click.Group:
    @click.group()
    def cli() -> None:
        """Stand-in for the ``ai-trading`` root group."""

    register(cli)
    return cli


def test_cli_status_and_rearm(tmp_path: Path) -> None:
    check = build(tmp_path, RunMode.LIVE, daily_loss_limit=0.05)
    check.update(ctx(1, 90_000.0, 100_000.0))
    runner = CliRunner()
    cli = root()

    out = runner.invoke(cli, ["risk", "status", "--state-dir", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert "circuit_breaker: halted" in out.output and "daily loss" in out.output

    out = runner.invoke(cli, ["risk", "rearm", "--state-dir", str(tmp_path)])
    assert out.exit_code != 0 and "--reason" in out.output

    out = runner.invoke(cli, ["risk", "rearm", "--state-dir", str(tmp_path), "--reason", "checked positions"])
    assert out.exit_code == 0, out.output
    assert "halted -> active" in out.output

    # the running breaker sees the re-arm at its next step; a restart starts armed
    assert check.update(ctx(2, 90_000.0, 90_000.0)) is None
    assert not build(tmp_path, RunMode.LIVE).breaker.is_tripped()

    out = runner.invoke(cli, ["risk", "status", "--state-dir", str(tmp_path), "--json"])
    assert out.exit_code == 0
    assert '"state": "active"' in out.output and "checked positions" in out.output


def test_cli_rearm_needs_an_id_with_several_breakers(tmp_path: Path) -> None:
    for cid in ("cb_a", "cb_b"):
        bctx = BuildContext(component_id=cid, mode=RunMode.LIVE, state_dir=tmp_path)
        build_circuit_breaker(CircuitBreakerParams(), bctx).update(ctx(1, 90_000.0, 100_000.0))
    runner = CliRunner()
    out = runner.invoke(root(), ["risk", "rearm", "--state-dir", str(tmp_path), "--reason", "ok"])
    assert out.exit_code != 0 and "--id" in out.output
    out = runner.invoke(
        root(), ["risk", "rearm", "--state-dir", str(tmp_path), "--reason", "ok", "--id", "cb_b"]
    )
    assert out.exit_code == 0, out.output
    bctx = BuildContext(component_id="cb_a", mode=RunMode.LIVE, state_dir=tmp_path)
    assert build_circuit_breaker(CircuitBreakerParams(), bctx).breaker.is_tripped()


def test_cli_with_nothing_persisted(tmp_path: Path) -> None:
    out = CliRunner().invoke(root(), ["risk", "status", "--state-dir", str(tmp_path)])
    assert out.exit_code == 0 and "no circuit breaker state" in out.output


def test_register_adds_to_an_existing_risk_group() -> None:
    @click.group()
    def cli() -> None:
        """Root."""

    @cli.group("risk")
    def risk() -> None:
        """Risk commands of another plugin."""

    @risk.command("limits")
    def limits() -> None:
        """Another plugin's command."""

    register(cli)
    assert set(risk.commands) == {"limits", "status", "rearm"}
    with pytest.raises(click.UsageError):
        register(cli)


def test_plugin_registers_through_the_host() -> None:
    from ai_trading_core.plugins import create_plugin_host, registry_for

    host = create_plugin_host(only=["circuit-breaker"])
    assert "circuit_breaker" in registry_for(host, "risk_check")
