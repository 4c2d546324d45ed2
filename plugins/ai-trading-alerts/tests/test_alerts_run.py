"""End to end: a run whose risk check raises fails closed, the engine halts and raises a
CRITICAL alert, and the configured webhook channel delivers it to a local server with the
run's context; a webhook that never answers adds nothing measurable to the engine's step."""

from __future__ import annotations

import time
from decimal import Decimal
from statistics import median
from typing import Any

import pytest

from ai_trading_core import hookimpl
from ai_trading_core.enums import AlertSeverity, RiskDecision, RiskState
from ai_trading_core.market import to_datetime
from ai_trading_core.models import Alert, RiskVerdict
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.protocols import RiskStateRequest

TOKEN = "run-hook-token-91b2"  # noqa: S105 - test credential


class RaisingRiskCheck:
    """Test double: a risk check with a bug."""

    name = "raising"

    def check(self, orders: Any, ctx: Any) -> Any:
        raise ZeroDivisionError("bug in risk check")

    def update(self, ctx: Any) -> None:
        return None


class TimedTripCheck:
    """Test double: approves everything, notes the time of every step (``update`` is called
    once per step), raises a WARNING through the run's alert callable at step 20 (timing the
    call) and asks for HALTED at step 40, which makes the engine raise a CRITICAL alert."""

    name = "timed_trip"

    def __init__(self, alert: Any) -> None:
        self.alert = alert
        self.times: list[float] = []
        self.emit_seconds: float | None = None

    def check(self, orders: Any, ctx: Any) -> Any:
        return [
            RiskVerdict(
                check=self.name,
                decision=RiskDecision.APPROVE,
                client_order_id=o.client_order_id,
                symbol=o.symbol,
                requested_quantity=o.quantity,
                approved_quantity=o.quantity,
                reason="ok",
                timestamp=o.created_at,
            )
            for o in orders
        ]

    def update(self, ctx: Any) -> RiskStateRequest | None:
        self.times.append(time.perf_counter())
        step = len(self.times)
        if step == 20:
            t0 = time.perf_counter()
            self.alert(
                Alert(
                    severity=AlertSeverity.WARNING,
                    source=self.name,
                    message="feed slow",
                    timestamp=to_datetime(ctx.timestamp),
                )
            )
            self.emit_seconds = time.perf_counter() - t0
        if step == 40:
            return RiskStateRequest(RiskState.HALTED, "test trip")
        return None


class RaisingRiskPlugin:
    def __init__(self) -> None:
        self.timed: list[TimedTripCheck] = []

    @hookimpl
    def ai_trading_register_risk_checks(self, registry: Any) -> None:
        registry.register("raising", lambda p, c: RaisingRiskCheck())

        def timed(p: Any, c: Any) -> TimedTripCheck:
            check = TimedTripCheck(c.alert)
            self.timed.append(check)
            return check

        registry.register("timed_trip", timed)


def test_halting_run_delivers_critical_alert_by_webhook(
    ai_trading_run: Any, ai_trading_panel: Any, webhook_receiver: Any
) -> None:
    host = create_plugin_host(extra_plugins={"risky": RaisingRiskPlugin()})
    config = {
        "data": {"name": "synthetic"},
        "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 5, "slow": 20}}],
        "risk": [{"name": "raising"}],
        "alerts": [
            {
                "name": "webhook",
                "id": "ops-hook",
                "params": {
                    "url": webhook_receiver.url,
                    "token_credential": "ops_hook",
                    "min_severity": "critical",
                },
            },
            {"name": "log", "params": {"min_severity": "warning"}},
        ],
        "credentials": {"ops_hook": TOKEN},
        "audit": {"enabled": False},
        "run": {"name": "alerting-run"},
    }
    out = ai_trading_run(config, panel=ai_trading_panel, host=host)
    assert out.result.risk_events[-1].state is RiskState.HALTED
    bodies = webhook_receiver.delivered()
    assert len(bodies) == 1  # halted once; later failures are not news (key de-duplicated)
    (body,) = bodies
    assert body["severity"] == "critical" and body["key"] == "risk-state:halted"
    assert "bug in risk check" in body["message"]
    assert webhook_receiver.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(out.document)  # the run document carries the credential redacted
    # the payload says which run, in which mode, with what equity and risk state
    ctx = body["context"]
    assert ctx["run_id"] == out.result.session.run_id and ctx["run_name"] == "alerting-run"
    assert ctx["mode"] == "backtest" and ctx["risk_state"] == "halted"
    assert Decimal(ctx["equity"]) > 0


@pytest.mark.parametrize("mode", ["backtest", "paper"])
def test_a_hung_webhook_adds_at_most_50_ms_to_a_step(
    ai_trading_run: Any, ai_trading_panel: Any, hanging_endpoint: str, mode: str
) -> None:
    plugin = RaisingRiskPlugin()
    host = create_plugin_host(extra_plugins={"risky": plugin})
    config = {
        "data": {"name": "synthetic"},
        "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 5, "slow": 20}}],
        "risk": [{"name": "timed_trip"}],
        "alerts": [
            {
                "name": "webhook",
                "params": {"url": hanging_endpoint, "timeout": 10.0, "attempts": 1, "drain_timeout": 0.2},
            }
        ],
        "audit": {"enabled": False},
        "run": {"mode": mode},  # paper: the asyncio loop over a replayed feed, as live
    }
    t0 = time.perf_counter()
    out = ai_trading_run(config, panel=ai_trading_panel, host=host)
    run_seconds = time.perf_counter() - t0
    assert out.result.risk_events[-1].state is RiskState.HALTED
    (check,) = plugin.timed
    # the WARNING raised from inside a step, through the callable the engine hands out
    assert check.emit_seconds is not None and check.emit_seconds < 0.05
    # the step that halted and raised the CRITICAL, against a typical step
    gaps = [b - a for a, b in zip(check.times, check.times[1:], strict=False)]
    assert gaps[39] - median(gaps) < 0.05, (gaps[39], median(gaps))
    # two alerts to an endpoint that holds every request for 10 s: the run does not wait
    assert run_seconds < 10.0
