"""End to end: a run whose risk check raises fails closed, the engine halts and raises a
CRITICAL alert, and the configured webhook channel delivers it to a local server."""

from __future__ import annotations

from typing import Any

from ai_trading_core import hookimpl
from ai_trading_core.enums import RiskState
from ai_trading_core.plugins import create_plugin_host

TOKEN = "run-hook-token-91b2"  # noqa: S105 - test credential


class RaisingRiskCheck:
    """Test double: a risk check with a bug."""

    name = "raising"

    def check(self, orders: Any, ctx: Any) -> Any:
        raise ZeroDivisionError("bug in risk check")

    def update(self, ctx: Any) -> None:
        return None


class RaisingRiskPlugin:
    @hookimpl
    def ai_trading_register_risk_checks(self, registry: Any) -> None:
        registry.register("raising", lambda p, c: RaisingRiskCheck())


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
