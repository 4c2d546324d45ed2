"""Registers the ``prometheus`` exporter, as a reporter and as a risk check.

* ``[[reporters]] name = "prometheus"``: event series (orders, fills, verdicts, risk state,
  latencies) live, equity and drawdown at the end of the run.
* ``[[risk]] name = "prometheus"``: the same, plus every step: equity, drawdown, risk state,
  newest bar and feed staleness while the run goes on. It approves every order.

Configure one of the two. The component object carries the hook implementations below; the
runner registers it with the run's plugin manager for the run only.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from ai_trading_core import hookimpl
from ai_trading_core.clock import SimulatedClock

from ai_trading_core.endpoints import bearer_token
from .exporter import PrometheusExporter
from .params import PrometheusParams

if TYPE_CHECKING:
    from ai_trading_core.models import AuditEvent, Fill, Order, OrderUpdate, RiskEvent, RiskVerdict
    from ai_trading_core.protocols import Broker
    from ai_trading_core.registry import BuildContext, ReporterRegistry, RiskCheckRegistry
    from ai_trading_core.result import RunResult, Session


class PrometheusComponent(PrometheusExporter):
    """The exporter with its observer and around-order hooks."""

    @hookimpl
    def ai_trading_session_start(self, session: Session) -> None:
        self.session_started(session)

    @hookimpl
    def ai_trading_session_finish(self, session: Session, result: RunResult) -> None:
        self.session_finished(session, result)

    @hookimpl
    def ai_trading_order(self, order: Order) -> None:
        self.order_changed(order)

    @hookimpl
    def ai_trading_fill(self, fill: Fill) -> None:
        self.filled(fill)

    @hookimpl
    def ai_trading_risk_verdict(self, verdict: RiskVerdict) -> None:
        self.verdict(verdict)

    @hookimpl
    def ai_trading_risk_state(self, event: RiskEvent) -> None:
        self.risk_state_changed(event)

    # Outermost wrappers (tryfirst): they time every implementation of the hook, kill
    # switches and audit wrappers included, and never change the outcome.
    @hookimpl(wrapper=True, tryfirst=True)
    def ai_trading_submit_order(
        self, order: Order, broker: Broker
    ) -> Generator[None, OrderUpdate | None, OrderUpdate | None]:
        with self.timing("ai_trading_submit_order"):
            return (yield)

    @hookimpl(wrapper=True, tryfirst=True)
    def ai_trading_audit_event(self, event: AuditEvent) -> Generator[None, list[None], list[None]]:
        with self.timing("ai_trading_audit_event"):
            return (yield)


def build_prometheus(params: PrometheusParams, ctx: BuildContext) -> PrometheusComponent:
    token = bearer_token(
        ctx.credentials,
        params.token_credential,
        required="token_credential" in params.model_fields_set,
        host=params.host,
        what="metrics",
    )
    return PrometheusComponent(params, ctx.clock if ctx.clock is not None else SimulatedClock(), token=token)


@hookimpl
def ai_trading_register_reporters(registry: ReporterRegistry) -> None:
    registry.register(
        "prometheus",
        build_prometheus,
        params=PrometheusParams,
        description="Prometheus /metrics: orders, fills, rejections, risk state, latencies, final equity",
    )


@hookimpl
def ai_trading_register_risk_checks(registry: RiskCheckRegistry) -> None:
    registry.register(
        "prometheus",
        build_prometheus,
        params=PrometheusParams,
        description="Prometheus /metrics fed every step (equity, drawdown, staleness); approves every order",
    )
