"""The Prometheus exporter: turns what a run reports (orders, fills, verdicts, risk state,
and, when it sees every step, equity and the feed's age) into the series of
:class:`~ai_trading_metrics.series.TradingSeries`, served over HTTP at ``/metrics``.

The HTTP server starts when the session starts and stops when it finishes (or on
:meth:`PrometheusExporter.close`), never in the constructor.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app

from ai_trading_core.batch import OrderBatch, VerdictBatch
from ai_trading_core.clock import Clock
from ai_trading_core.enums import RiskDecision
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import to_datetime
from ai_trading_core.models import Fill, Order, RiskEvent, RiskVerdict
from ai_trading_core.protocols import ReportSection, RiskContext
from ai_trading_core.result import RunResult, Session

from ai_trading_core.endpoints import bearer_token, require_bearer
from .params import PrometheusParams
from .series import RISK_STATE_VALUE, TradingSeries

Timer = Callable[[], float]
_NO_LIMIT = "metrics observer: no limit"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        return None


class PrometheusExporter:
    """Exports a run's metrics.

    :param clock: the run's clock; ``feed_staleness_seconds`` is measured with it.
    :param timer: a monotonic timer in seconds for latencies (``time.perf_counter``): it
        measures durations, never the time of day.
    :param token: the bearer token every scrape must carry; None serves loopback only (a host
        beyond loopback without a token is refused).
    """

    name = "prometheus"
    wants_component_timings = True  # the engine then hands per-component durations to observe_step

    def __init__(
        self, params: PrometheusParams, clock: Clock, *, timer: Timer = time.perf_counter, token: str | None = None
    ) -> None:
        if token is None:  # loopback only: refuses a host beyond it
            bearer_token({}, params.token_credential, required=False, host=params.host, what="metrics")
        self.params = params
        self.token = token
        self.clock = clock
        self.timer = timer
        self.series = TradingSeries(params.namespace, params.latency_buckets)
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._bar_ns = 0
        self._last_bar_ns: int | None = None
        self._observed_steps = 0
        self.series.feed_staleness.set_function(self.feed_staleness)

    # ------------------------------------------------------------------ HTTP server
    @property
    def port(self) -> int | None:
        return int(self._server.server_port) if self._server is not None else None

    @property
    def url(self) -> str | None:
        return f"http://{self.params.host}:{self.port}/metrics" if self._server is not None else None

    def start_server(self) -> None:
        if self._server is not None:
            return
        try:
            app = make_wsgi_app(self.series.registry)
            if self.token is not None:
                app = require_bearer(app, self.token, "ai-trading-metrics")
            server = make_server(self.params.host, self.params.port, app, handler_class=_QuietHandler)
        except OSError as exc:
            raise ConfigError(
                f"prometheus exporter cannot listen on {self.params.host}:{self.params.port}: {exc}"
            ) from exc
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="ai-trading-metrics", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the HTTP server (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    # ------------------------------------------------------------------ what the run reports
    def session_started(self, session: Session) -> None:
        self._bar_ns = session.timeframe.seconds * 1_000_000_000
        self.series.session.labels(run_id=session.run_id, mode=session.mode.value).set(1)
        self.series.circuit_breaker_state.set(0)
        self.start_server()

    def session_finished(self, session: Session, result: RunResult) -> None:
        if self._observed_steps == 0 and len(result.equity):
            # Not fed per step (reporter role): publish the end-of-run figures.
            last, peak = (
                float(result.equity[-1]),
                float(max(result.equity.max(), float(session.initial_cash))),
            )
            self._set_equity(last, peak)
            self._last_bar_ns = int(result.timestamps[-1])
            self.series.last_bar.set(self._last_bar_ns / 1e9)
        self.series.session.labels(run_id=session.run_id, mode=session.mode.value).set(0)
        self.close()

    def order_changed(self, order: Order) -> None:
        self.series.orders.labels(status=order.status.value).inc()

    def filled(self, fill: Fill) -> None:
        self.series.fills.inc()
        self.series.filled_notional.inc(float(fill.notional))

    def verdict(self, verdict: RiskVerdict) -> None:
        self.series.risk_verdicts.labels(check=verdict.check, decision=verdict.decision.value).inc()
        if verdict.decision is RiskDecision.REJECT:
            self.series.risk_rejections.labels(check=verdict.check).inc()

    def risk_state_changed(self, event: RiskEvent) -> None:
        self.series.risk_state_changes.labels(state=event.state.value, source=event.source).inc()
        self.series.circuit_breaker_state.set(RISK_STATE_VALUE[event.state.value])

    def observe_step(self, ctx: RiskContext) -> None:
        """One processed cross-section: equity, peak, drawdown, risk state, newest bar."""
        self._observed_steps += 1
        self.series.steps.inc()
        self._set_equity(ctx.equity, ctx.peak_equity)
        self.series.circuit_breaker_state.set(RISK_STATE_VALUE[ctx.state.value])
        self._last_bar_ns = ctx.timestamp
        self.series.last_bar.set(ctx.timestamp / 1e9)
        for component, seconds in (ctx.component_seconds or {}).items():  # the previous step's calls
            self.series.component_latency.labels(component=component).observe(seconds)

    @contextmanager
    def timing(self, hook: str) -> Iterator[None]:
        """Time the enclosed hook call with :attr:`timer` (also when it raises)."""
        start = self.timer()
        try:
            yield
        finally:
            self.hook_timed(hook, self.timer() - start)

    def hook_timed(self, hook: str, seconds: float) -> None:
        self.series.hook_latency.labels(hook=hook).observe(seconds)
        if hook == "ai_trading_submit_order":
            self.series.submit_latency.observe(seconds)

    def feed_staleness(self) -> float:
        """Seconds since the newest bar closed, by the run's clock (NaN before any bar)."""
        if self._last_bar_ns is None:
            return math.nan
        return max(self.clock.now_ns() - self._last_bar_ns - self._bar_ns, 0) / 1e9

    def _set_equity(self, equity: float, peak: float) -> None:
        self.series.equity.set(equity)
        self.series.peak_equity.set(peak)
        self.series.drawdown.set(1.0 - equity / peak if peak > 0 else 0.0)

    # ------------------------------------------------------------------ risk check role
    def update(self, ctx: RiskContext) -> None:
        """As a risk check the exporter sees every step; it never asks for a state change."""
        self.observe_step(ctx)

    def check(self, orders: Sequence[Order], ctx: RiskContext) -> list[RiskVerdict]:
        """Approves every order: the exporter observes, it sets no limit."""
        ts = to_datetime(ctx.timestamp)
        return [
            RiskVerdict(
                check=self.name,
                decision=RiskDecision.APPROVE,
                client_order_id=o.client_order_id,
                symbol=o.symbol,
                requested_quantity=o.quantity,
                approved_quantity=o.quantity,
                reason=_NO_LIMIT,
                timestamp=ts,
            )
            for o in orders
        ]

    def check_batch(self, batch: OrderBatch, ctx: RiskContext) -> VerdictBatch:
        """Approves every row, as :meth:`check`."""
        return VerdictBatch.approve_all(self.name, len(batch), _NO_LIMIT)

    # ------------------------------------------------------------------ reporter role
    def report(self, result: RunResult) -> ReportSection:
        return ReportSection()

    def render(self, result: RunResult, section: ReportSection, console: Any) -> None:
        return None
