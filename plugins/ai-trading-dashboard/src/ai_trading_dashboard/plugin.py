"""Registers the ``ai-trading dashboard`` commands, and the in-process live feed: an
observer object that pushes a running engine's events into an :class:`EventBuffer`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ai_trading_core import hookimpl

from .live import EventBuffer

if TYPE_CHECKING:
    import click

    from ai_trading_core.models import Alert, Fill, Order, RiskEvent
    from ai_trading_core.result import RunResult, Session


@hookimpl
def ai_trading_register_commands(cli: click.Group) -> None:
    """The dashboard commands, imported (with Dash) when one is run."""
    from ai_trading_core.cli import LazyCommand

    cli.add_command(LazyCommand(
        "dashboard", "ai_trading_dashboard.cli:dashboard_command",
        "Serve the monitoring dashboard (portfolio, positions, orders, fills, risk, strategies, trades, system).",
    ))
    cli.add_command(LazyCommand(
        "dashboard-hash-password", "ai_trading_dashboard.cli:hash_password_command",
        "Print the scrypt hash to store as the dashboard's --password-hash.",
    ))


class LiveEventRecorder:
    """Register with a run's plugin manager (``host.pm.register(recorder)``) to feed a
    dashboard in the same process: orders, fills, alerts, risk-state changes, and the equity
    curve when the session finishes."""

    def __init__(self, buffer: EventBuffer) -> None:
        self.buffer = buffer

    @hookimpl
    def ai_trading_session_start(self, session: Session) -> None:
        self.buffer.push("heartbeat", {"process": session.run_id, "timestamp": "session start"})

    @hookimpl
    def ai_trading_order(self, order: Order) -> None:
        self.buffer.push("order", order.model_dump(mode="json"))

    @hookimpl
    def ai_trading_fill(self, fill: Fill) -> None:
        self.buffer.push("fill", fill.model_dump(mode="json"))

    @hookimpl
    def ai_trading_alert(self, alert: Alert) -> None:
        self.buffer.push("alert", alert.model_dump(mode="json"))

    @hookimpl
    def ai_trading_risk_state(self, event: RiskEvent) -> None:
        self.buffer.push("risk_state", event.model_dump(mode="json"))

    @hookimpl
    def ai_trading_session_finish(self, session: Session, result: RunResult) -> None:
        from ai_trading_core.market import to_datetime

        for ts, eq in zip(result.timestamps.tolist(), result.equity.tolist(), strict=True):
            self.buffer.push("equity", {"timestamp": to_datetime(int(ts)).isoformat(), "equity": float(eq)})

    def describe(self) -> dict[str, Any]:
        return {"events": self.buffer.last_seq}
