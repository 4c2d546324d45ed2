"""Liveness and readiness over HTTP on loopback, driven by a simulated clock, and during a
real paper run."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ai_trading_health import HealthMonitor, HealthParams, directory_writable, sql_select_one
from ai_trading_health.plugin import HealthComponent, build_health

from ai_trading_core import hookimpl
from ai_trading_core.clock import SimulatedClock
from ai_trading_core.config import config_from_dict
from ai_trading_core.errors import ConfigError
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel

DAY = 86_400
T0 = 1_704_153_600 * 1_000_000_000  # 2024-01-02T00:00:00Z


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[tuple[HealthMonitor, SimulatedClock]]:
    clock = SimulatedClock(T0)
    m = HealthMonitor(
        HealthParams(port=0, liveness_timeout=3 * DAY, max_staleness=1.5 * DAY),
        clock,
        directory_writable(tmp_path / "state"),
    )
    yield m, clock
    m.close()


def test_readiness_turns_503_when_the_feed_goes_stale(monitor: tuple[HealthMonitor, SimulatedClock]) -> None:
    m, clock = monitor
    assert m.port is None  # nothing listens before the session starts
    m.started(bar_seconds=DAY)
    status, doc = get(m.url("/readyz"))
    assert status == 503 and doc["checks"]["data_fresh"] == {"ok": False, "reason": "no bar yet"}
    assert get(m.url("/livez"))[0] == 200  # just started

    clock.set(T0 + DAY * 1_000_000_000)  # the engine processes the bar opening at T0 at its close
    m.tick(T0)
    status, doc = get(m.url("/readyz"))
    assert status == 200, doc
    assert doc["checks"]["data_fresh"]["age_seconds"] == 0.0
    assert doc["checks"]["broker_reconciled"] == {"ok": True}
    assert doc["checks"]["storage_reachable"] == {"ok": True}

    clock.advance(1.5 * DAY - 1)  # just inside the limit
    assert get(m.url("/readyz"))[0] == 200
    clock.advance(1)  # age == limit: stale
    status, doc = get(m.url("/readyz"))
    assert status == 503 and doc["status"] == "fail"
    assert (
        doc["checks"]["data_fresh"]["ok"] is False and doc["checks"]["data_fresh"]["age_seconds"] == 1.5 * DAY
    )
    assert doc["checks"]["broker_reconciled"]["ok"] is True
    assert get(m.url("/livez"))[0] == 200  # stale data, but the loop is still within its timeout

    clock.advance(1.5 * DAY + 1)  # 3 days + 1 s since the last tick
    status, doc = get(m.url("/livez"))
    assert status == 503 and doc["checks"]["loop_ticking"]["seconds_since_tick"] == 3 * DAY + 1

    clock.set(T0 + 5 * DAY * 1_000_000_000)  # a new bar arrives: live and ready again
    m.tick(T0 + 4 * DAY * 1_000_000_000)
    assert get(m.url("/livez"))[0] == 200 and get(m.url("/readyz"))[0] == 200
    assert get(m.url("/other"))[0] == 404

    port = m.port
    m.finished()
    assert m.port is None and not m.readiness().ok
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_storage_probes(tmp_path: Path) -> None:
    assert directory_writable(tmp_path / "a" / "b")() is None
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert "not writable" in (directory_writable(blocker / "sub")() or "")
    assert sql_select_one(f"sqlite:///{tmp_path / 'db.sqlite'}")() is None
    assert "not reachable" in (sql_select_one(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite'}")() or "")
    clock = SimulatedClock(T0)
    m = HealthMonitor(HealthParams(port=0), clock, directory_writable(blocker / "sub"))
    m.started(bar_seconds=60)
    try:
        m.tick(T0)
        report = m.readiness()
        assert not report.ok and report.checks["storage_reachable"]["ok"] is False
        assert report.checks["data_fresh"]["limit"] == 120  # default: two bar lengths
        clash = HealthMonitor(HealthParams(port=m.port or 0), clock, directory_writable(tmp_path))
        with pytest.raises(ConfigError, match="cannot listen"):
            clash.start_server()
    finally:
        m.close()


class ReadyzProbe:
    """Test plugin: builds the real health component through its factory and asks /readyz
    over HTTP when the n-th fill arrives, in the middle of the run."""

    def __init__(self, at_fill: int) -> None:
        self.at_fill = at_fill
        self.fills = 0
        self.component: HealthComponent | None = None
        self.answers: list[tuple[int, dict[str, Any]]] = []

    @hookimpl
    def ai_trading_register_risk_checks(self, registry: Any) -> None:
        def build(params: HealthParams, ctx: Any) -> HealthComponent:
            self.component = build_health(params, ctx)
            return self.component

        registry.register("health_under_test", build, params=HealthParams)

    @hookimpl
    def ai_trading_fill(self, fill: Any) -> None:
        self.fills += 1
        if self.fills == self.at_fill and self.component is not None:
            self.answers.append(get(self.component.url("/readyz")))
            self.answers.append(get(self.component.url("/livez")))


def test_ready_and_live_during_a_paper_run(tmp_path: Path) -> None:
    probe = ReadyzProbe(at_fill=5)
    host = create_plugin_host(only=["sample-data", "sim", "sma"], extra_plugins={"probe": probe})
    config = config_from_dict(
        {
            "run": {
                "mode": "paper",
                "output_dir": str(tmp_path / "runs"),
                "state_dir": str(tmp_path / "state"),
            },
            "data": {"name": "synthetic"},
            "strategies": [{"name": "sma_crossover", "params": {"fast": 3, "slow": 10}}],
            "risk": [{"name": "health_under_test", "params": {"port": 0}}],
            "audit": {"enabled": False},
        }
    )
    outcome = run_config(config, host, panel=random_walk_panel(150, 3, seed=2))
    assert outcome.result.fills and len(probe.answers) == 2
    (ready_status, ready), (live_status, _) = probe.answers
    assert ready_status == 200, ready
    assert ready["checks"]["data_fresh"]["age_seconds"] == 0.0
    assert live_status == 200
    assert probe.component is not None and probe.component.port is None  # stopped at session finish


TOKEN = "health-token-0123456789abcdef"


def _ctx(tmp_path: Path, credentials: dict[str, Any]) -> Any:
    from pydantic import SecretStr

    from ai_trading_core.registry import BuildContext

    return BuildContext(
        component_id="health",
        state_dir=tmp_path,
        credentials={k: SecretStr(v) for k, v in credentials.items()},
        clock=SimulatedClock(T0),
    )


def _get_with(url: str, authorization: str | None) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Authorization": authorization} if authorization else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_bearer_token_from_the_credentials_guards_every_path(tmp_path: Path) -> None:
    m = build_health(HealthParams(port=0), _ctx(tmp_path, {"health_token": TOKEN}))
    try:
        m.started(bar_seconds=DAY)
        for path in ("/livez", "/readyz", "/nope"):
            status, headers = _get_with(m.url(path), None)
            assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
            assert _get_with(m.url(path), f"Bearer {TOKEN}x")[0] == 401
            assert _get_with(m.url(path), f"Basic {TOKEN}")[0] == 401
        assert _get_with(m.url("/livez"), f"Bearer {TOKEN}")[0] == 200
        assert _get_with(m.url("/nope"), f"Bearer {TOKEN}")[0] == 404
    finally:
        m.close()


def test_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="beyond loopback: configure a bearer token in credential 'health_token'"):
        build_health(HealthParams(host="0.0.0.0", port=0), _ctx(tmp_path, {}))
    with pytest.raises(ConfigError, match="beyond loopback"):
        HealthMonitor(HealthParams(host="192.0.2.1", port=0), SimulatedClock(T0), directory_writable(tmp_path))
    # with a token it binds everywhere (and still answers only with the token)
    m = build_health(HealthParams(host="0.0.0.0", port=0), _ctx(tmp_path, {"health_token": TOKEN}))
    try:
        m.started(bar_seconds=DAY)
        url = f"http://127.0.0.1:{m.port}/livez"
        assert _get_with(url, None)[0] == 401 and _get_with(url, f"Bearer {TOKEN}")[0] == 200
    finally:
        m.close()


def test_a_named_token_credential_must_exist_and_be_long_enough(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="credential 'probe_token' .* is not configured"):
        build_health(HealthParams(port=0, token_credential="probe_token"), _ctx(tmp_path, {}))
    with pytest.raises(ConfigError, match="shorter than 16"):
        build_health(HealthParams(port=0), _ctx(tmp_path, {"health_token": "short"}))
