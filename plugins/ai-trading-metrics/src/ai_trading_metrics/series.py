"""The metric families, all in one :class:`~prometheus_client.CollectorRegistry` owned by
the component (never the process-global default registry)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

RISK_STATE_VALUE = {"active": 0.0, "reducing": 1.0, "halted": 2.0}
"""Numeric encoding of the risk state in ``circuit_breaker_state``."""


class TradingSeries:
    """Every series the exporter publishes. Units are in the names (``_seconds``,
    ``_total``); equity is in the account currency, drawdown a fraction of the peak."""

    def __init__(self, namespace: str, latency_buckets: Sequence[float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r, ns, buckets = self.registry, namespace, tuple(latency_buckets)
        self.orders = Counter(
            "orders", "Order status changes, by new status", ["status"], namespace=ns, registry=r
        )
        self.fills = Counter("fills", "Executions applied to the portfolio", namespace=ns, registry=r)
        self.filled_notional = Counter(
            "filled_notional", "Notional of executions, account currency", namespace=ns, registry=r
        )
        self.risk_verdicts = Counter(
            "risk_verdicts",
            "Risk check verdicts, by check and decision",
            ["check", "decision"],
            namespace=ns,
            registry=r,
        )
        self.risk_rejections = Counter(
            "risk_rejections",
            "Orders rejected by a risk check, by check",
            ["check"],
            namespace=ns,
            registry=r,
        )
        self.risk_state_changes = Counter(
            "risk_state_changes",
            "Risk state changes, by new state and source",
            ["state", "source"],
            namespace=ns,
            registry=r,
        )
        self.circuit_breaker_state = Gauge(
            "circuit_breaker_state",
            "Risk state: 0 active, 1 reducing (risk-reducing orders only), 2 halted",
            namespace=ns,
            registry=r,
        )
        self.equity = Gauge(
            "equity", "Portfolio equity marked at the last bar, account currency", namespace=ns, registry=r
        )
        self.peak_equity = Gauge(
            "peak_equity", "Highest equity of the run, account currency", namespace=ns, registry=r
        )
        self.drawdown = Gauge(
            "drawdown", "Fall from the peak equity, fraction of the peak", namespace=ns, registry=r
        )
        self.steps = Counter("steps", "Cross-sections (bars) processed", namespace=ns, registry=r)
        self.last_bar = Gauge(
            "last_bar_timestamp_seconds",
            "Open time of the newest bar processed, Unix seconds",
            namespace=ns,
            registry=r,
        )
        self.feed_staleness = Gauge(
            "feed_staleness_seconds",
            "Time since the newest bar closed, by the run's clock; NaN before the first bar",
            namespace=ns,
            registry=r,
        )
        self.submit_latency = Histogram(
            "submit_latency_seconds",
            "Time to submit one order through the around-order hook, seconds",
            namespace=ns,
            registry=r,
            buckets=buckets,
        )
        self.hook_latency = Histogram(
            "hook_latency_seconds",
            "Time spent in a hook call, by hook, seconds",
            ["hook"],
            namespace=ns,
            registry=r,
            buckets=buckets,
        )
        self.component_latency = Histogram(
            "component_latency_seconds",
            "Time spent in a component's per-step call (broker, strategy, sizer, risk check), seconds",
            ["component"],
            namespace=ns,
            registry=r,
            buckets=buckets,
        )
        self.session = Gauge(
            "session_info", "The running session (value 1)", ["run_id", "mode"], namespace=ns, registry=r
        )
