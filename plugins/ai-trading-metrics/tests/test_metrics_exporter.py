"""The exporter during real runs: scraped over HTTP on loopback in the middle of a paper run,
its figures checked against the run's own result afterwards."""

from __future__ import annotations

import socket
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ai_trading_metrics import PrometheusParams
from ai_trading_metrics.plugin import PrometheusComponent, build_prometheus
from prometheus_client.parser import text_string_to_metric_families

from ai_trading_core import hookimpl
from ai_trading_core.clock import SimulatedClock
from ai_trading_core.config import config_from_dict
from ai_trading_core.enums import OrderStatus, RiskDecision, RiskState
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import to_datetime
from ai_trading_core.models import RiskEvent, RiskVerdict
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel


class RejectEveryThirdOrder:
    """A risk check that rejects every third order it sees (to produce rejections)."""

    name = "every_third"

    def __init__(self) -> None:
        self.seen = 0

    def check(self, orders: Any, ctx: Any) -> list[RiskVerdict]:
        out = []
        for o in orders:
            self.seen += 1
            decision = RiskDecision.REJECT if self.seen % 3 == 0 else RiskDecision.APPROVE
            out.append(
                RiskVerdict(
                    check=self.name,
                    decision=decision,
                    symbol=o.symbol,
                    reason="every third",
                    timestamp=to_datetime(ctx.timestamp),
                )
            )
        return out

    def update(self, ctx: Any) -> None:
        return None


class ScrapeProbe:
    """Test plugin: builds the real exporter through its factory (keeping a reference), adds
    the rejecting check, and scrapes ``/metrics`` over HTTP when the n-th fill arrives."""

    def __init__(self, scrape_at_fill: int) -> None:
        self.scrape_at_fill = scrape_at_fill
        self.fills = 0
        self.exporter: PrometheusComponent | None = None
        self.scraped: str | None = None

    @hookimpl
    def ai_trading_register_risk_checks(self, registry: Any) -> None:
        def build(params: PrometheusParams, ctx: Any) -> PrometheusComponent:
            self.exporter = build_prometheus(params, ctx)
            return self.exporter

        registry.register("prometheus_under_test", build, params=PrometheusParams)
        registry.register("every_third", lambda p, ctx: RejectEveryThirdOrder())

    @hookimpl
    def ai_trading_fill(self, fill: Any) -> None:
        self.fills += 1
        if self.fills == self.scrape_at_fill:
            assert self.exporter is not None and self.exporter.url is not None
            with urllib.request.urlopen(self.exporter.url, timeout=10) as response:
                assert response.status == 200
                self.scraped = response.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def config(mode: str, risk_name: str, tmp: Any) -> Any:
    return config_from_dict(
        {
            "run": {"mode": mode, "output_dir": str(tmp / "runs"), "state_dir": str(tmp / "state")},
            "plugins": {"load": ["sample-data", "sim", "sma", "metrics"]},
            "data": {"name": "synthetic"},  # validated; the tests pass their own panel
            "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 3, "slow": 10}}],
            "risk": [{"name": "every_third"}, {"name": risk_name, "params": {"port": 0}}],
            "broker": {"name": "sim", "params": {"commission_bps": 1}},
            "audit": {"enabled": True},
        }
    )


def refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_scraped_during_a_paper_run(tmp_path: Any) -> None:
    panel = random_walk_panel(200, 4, seed=11)
    probe = ScrapeProbe(scrape_at_fill=10)
    host = create_plugin_host(only=["sample-data", "sim", "sma", "metrics"], extra_plugins={"probe": probe})
    clock = SimulatedClock()
    outcome = run_config(config("paper", "prometheus_under_test", tmp_path), host, panel=panel, clock=clock)
    result = outcome.result
    exporter = probe.exporter
    assert exporter is not None and probe.scraped is not None

    mid = samples(probe.scraped)
    for name in (
        "ai_trading_orders_total",
        "ai_trading_fills_total",
        "ai_trading_equity",
        "ai_trading_drawdown",
        "ai_trading_circuit_breaker_state",
        "ai_trading_feed_staleness_seconds",
        "ai_trading_submit_latency_seconds_count",
        "ai_trading_steps_total",
    ):
        assert any(k[0] == name for k in mid), name
    assert mid[("ai_trading_fills_total", ())] in (9.0, 10.0)  # this fill may be counted yet or not
    assert mid[("ai_trading_risk_rejections_total", (("check", "every_third"),))] >= 1
    assert mid[("ai_trading_circuit_breaker_state", ())] == 0
    assert 0 < mid[("ai_trading_steps_total", ())] < len(panel.timestamps)
    assert mid[("ai_trading_equity", ())] > 0
    assert mid[("ai_trading_feed_staleness_seconds", ())] == 0.0  # the clock sits at the newest bar's close
    assert mid[("ai_trading_submit_latency_seconds_count", ())] >= 9

    # After the run: the server is gone; the registry still holds the final figures.
    assert exporter.url is None and exporter.port is None
    reg = exporter.series.registry
    v = reg.get_sample_value
    assert v("ai_trading_fills_total") == len(result.fills)
    assert v("ai_trading_steps_total") == len(panel.timestamps)
    assert v("ai_trading_equity") == pytest.approx(result.equity[-1])
    peak = max(float(result.equity.max()), float(result.session.initial_cash))
    assert v("ai_trading_peak_equity") == pytest.approx(peak)
    assert v("ai_trading_drawdown") == pytest.approx(1 - result.equity[-1] / peak)
    rejections = sum(
        1 for x in result.risk_verdicts if x.check == "every_third" and x.decision is RiskDecision.REJECT
    )
    assert rejections > 0 and v("ai_trading_risk_rejections_total", {"check": "every_third"}) == rejections
    by_status = {
        s: sum(1 for o in result.orders if o.status is s) for s in (OrderStatus.FILLED, OrderStatus.REJECTED)
    }
    assert v("ai_trading_orders_total", {"status": "filled"}) == by_status[OrderStatus.FILLED]
    assert v("ai_trading_orders_total", {"status": "rejected"}) == by_status[OrderStatus.REJECTED]
    submitted = sum(1 for o in result.orders if o.status is not OrderStatus.REJECTED)
    assert v("ai_trading_submit_latency_seconds_count") == submitted
    assert v("ai_trading_hook_latency_seconds_count", {"hook": "ai_trading_audit_event"}) > 0
    assert v("ai_trading_filled_notional_total") == pytest.approx(
        float(sum(f.notional for f in result.fills))
    )
    # Staleness follows the run's clock.
    clock.advance(90)
    assert v("ai_trading_feed_staleness_seconds") == pytest.approx(90.0)


def test_reporter_role_publishes_end_of_run_equity_and_stops(tmp_path: Any) -> None:
    panel = random_walk_panel(120, 3, seed=5)
    probe = ScrapeProbe(scrape_at_fill=3)
    host = create_plugin_host(only=["sample-data", "sim", "sma", "metrics"], extra_plugins={"probe": probe})
    cfg = config("backtest", "every_third", tmp_path).model_copy(update={"reporters": []})
    cfg.risk = cfg.risk[:1]
    cfg.reporters = [cfg.broker.model_copy(update={"name": "prometheus", "params": {"port": 0}})]
    outcome = run_config(cfg, host, panel=panel)
    (reporter,) = [r for r, _ in outcome.sections]
    assert isinstance(reporter, PrometheusComponent) and reporter.url is None
    v = reporter.series.registry.get_sample_value
    assert v("ai_trading_equity") == pytest.approx(outcome.result.equity[-1])
    assert v("ai_trading_fills_total") == len(outcome.result.fills)
    assert v("ai_trading_steps_total") == len(outcome.result.timestamps)  # observe_step runs for reporters too
    # per-component latency: one observation per completed step (observers see the previous
    # step's timings) for the strategy and the broker
    n = len(outcome.result.timestamps) - 1
    seen = {s.labels.get("component") for m in reporter.series.registry.collect() for s in m.samples
            if s.name == "ai_trading_component_latency_seconds_count"}
    assert {"strategy:sma", "broker:sim"} <= seen, seen
    for component in ("strategy:sma", "broker:sim"):
        count = v("ai_trading_component_latency_seconds_count", {"component": component})
        assert count == n, (component, count)
        assert v("ai_trading_component_latency_seconds_sum", {"component": component}) > 0


def test_risk_state_and_port_conflict() -> None:
    exporter = PrometheusComponent(PrometheusParams(port=0), SimulatedClock())
    assert exporter.feed_staleness() != exporter.feed_staleness()  # NaN before any bar
    exporter.risk_state_changed(
        RiskEvent(
            timestamp=datetime(2024, 1, 2, tzinfo=UTC),
            source="circuit_breaker",
            previous_state=RiskState.ACTIVE,
            state=RiskState.HALTED,
            reason="loss",
        )
    )
    v = exporter.series.registry.get_sample_value
    assert v("ai_trading_circuit_breaker_state") == 2
    assert v("ai_trading_risk_state_changes_total", {"state": "halted", "source": "circuit_breaker"}) == 1
    exporter.start_server()
    try:
        port = exporter.port
        assert port
        clash = PrometheusComponent(PrometheusParams(port=port), SimulatedClock())
        with pytest.raises(ConfigError, match="cannot listen"):
            clash.start_server()
    finally:
        exporter.close()
    assert refused(port)


def test_bearer_token_guards_the_scrape_and_loopback_is_the_default(tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    from pydantic import SecretStr

    from ai_trading_core.errors import ConfigError
    from ai_trading_core.registry import BuildContext
    from ai_trading_metrics import PrometheusParams
    from ai_trading_metrics.plugin import build_prometheus

    token = "metrics-token-0123456789abcdef"

    def ctx(credentials: dict[str, str]) -> BuildContext:
        return BuildContext(
            component_id="prometheus", state_dir=tmp_path, credentials={k: SecretStr(v) for k, v in credentials.items()}
        )

    def scrape(url: str, authorization: str | None) -> tuple[int, bytes]:
        request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    with pytest.raises(ConfigError, match="beyond loopback: configure a bearer token in credential 'metrics_token'"):
        build_prometheus(PrometheusParams(host="0.0.0.0", port=0), ctx({}))
    exporter = build_prometheus(PrometheusParams(host="0.0.0.0", port=0), ctx({"metrics_token": token}))
    try:
        exporter.start_server()
        url = f"http://127.0.0.1:{exporter.port}/metrics"
        assert scrape(url, None)[0] == 401 and scrape(url, "Bearer wrong-token-000000000")[0] == 401
        status, body = scrape(url, f"Bearer {token}")
        assert status == 200 and b"ai_trading_" in body
    finally:
        exporter.close()
