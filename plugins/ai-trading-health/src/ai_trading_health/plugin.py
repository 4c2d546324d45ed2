"""Registers the ``health`` component as a risk check: the role the engine calls on every
step, which is what liveness needs. It approves every order. The object carries the session
hooks below; the runner registers it with the run's plugin manager for the run only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ai_trading_core import hookimpl
from ai_trading_core.batch import VerdictBatch
from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import RiskDecision
from ai_trading_core.market import to_datetime
from ai_trading_core.models import RiskVerdict

from ai_trading_core.endpoints import bearer_token
from .monitor import HealthMonitor
from .params import HealthParams
from .probes import directory_writable, sql_select_one

if TYPE_CHECKING:
    from ai_trading_core.batch import OrderBatch
    from ai_trading_core.models import Order
    from ai_trading_core.protocols import RiskContext
    from ai_trading_core.registry import BuildContext, RiskCheckRegistry
    from ai_trading_core.result import RunResult, Session


class HealthComponent(HealthMonitor):
    name = "health"

    @hookimpl
    def ai_trading_session_start(self, session: Session) -> None:
        self.started(float(session.timeframe.seconds))

    @hookimpl
    def ai_trading_session_finish(self, session: Session, result: RunResult) -> None:
        self.finished()

    def update(self, ctx: RiskContext) -> None:
        self.tick(ctx.timestamp)

    def check(self, orders: Sequence[Order], ctx: RiskContext) -> list[RiskVerdict]:
        ts = to_datetime(ctx.timestamp)
        return [
            RiskVerdict(
                check=self.name,
                decision=RiskDecision.APPROVE,
                client_order_id=o.client_order_id,
                symbol=o.symbol,
                reason=_REASON,
                timestamp=ts,
            )
            for o in orders
        ]

    def check_batch(self, batch: OrderBatch, ctx: RiskContext) -> VerdictBatch:
        """Approves every row, as :meth:`check`."""
        return VerdictBatch.approve_all(self.name, len(batch), _REASON)


_REASON = "health monitor: no limit"


def build_health(params: HealthParams, ctx: BuildContext) -> HealthComponent:
    probe = sql_select_one(params.storage_url) if params.storage_url else directory_writable(ctx.state_dir)
    token = bearer_token(
        ctx.credentials,
        params.token_credential,
        required="token_credential" in params.model_fields_set,
        host=params.host,
        what="health",
    )
    return HealthComponent(params, ctx.clock if ctx.clock is not None else SimulatedClock(), probe, token=token)


@hookimpl
def ai_trading_register_risk_checks(registry: RiskCheckRegistry) -> None:
    registry.register(
        "health",
        build_health,
        params=HealthParams,
        description="/livez (loop ticking) and /readyz (data fresh, broker reconciled, storage reachable)",
    )
