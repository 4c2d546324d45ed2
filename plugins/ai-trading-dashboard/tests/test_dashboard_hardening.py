"""A fresh install never answers 500; the served dashboard is hardened (waitress, Host header
check, CSP, Referrer-Policy, no plotly cloud button, masked webhook URLs, login throttling
logged as security events); server-side grid queries and top/bottom N charts."""

from __future__ import annotations

import base64
import http.client
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ai_trading_dashboard import (
    BasicAuth,
    DashboardServer,
    LoginThrottle,
    StorageRunSource,
    create_app,
    hash_password,
)
from ai_trading_dashboard.figures import GRAPH_CONFIG, top_bottom
from ai_trading_dashboard.grids import FILL_COLUMNS, format_value, query_rows
from ai_trading_dashboard.pages import PAGES
from ai_trading_dashboard.redact import mask_webhook_url, redact
from ai_trading_dashboard.security import allowed_hosts
from loguru import logger

from ai_trading_core.errors import ConfigError

PAGE_OUTPUT = "..page.children..." + "...".join(f"nav-{s}.className" for s, _ in PAGES) + ".."
SLACK = "https://hooks.slack.com/services/T000/B000/SECRETPATHxyz"


def _page(client: Any, dash_call: Any, path: str, run_id: str | None) -> Any:
    inputs = [
        {"id": "url", "property": "pathname", "value": path},
        {"id": "run", "property": "value", "value": run_id},
    ]
    return dash_call(client, PAGE_OUTPUT, inputs, "url.pathname")


@pytest.mark.parametrize("kind", ["no file", "no tables"])
def test_fresh_install_shows_an_empty_state_not_a_500(tmp_path: Path, kind: str, dash_call: Any) -> None:
    db = tmp_path / "state" / "ai-trading.db"
    if kind == "no tables":
        db.parent.mkdir()
        sqlite3.connect(db).close()  # a database file without the schema
    app = create_app(StorageRunSource(f"sqlite:///{db.as_posix()}"))
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200 and "no runs" in layout.get_data(as_text=True)
    for slug, _ in PAGES:
        resp = _page(client, dash_call, f"/{slug}", None)
        assert resp.status_code == 200, slug
        text = resp.get_data(as_text=True)
        assert "No runs yet" in text and "ai-trading run" in text, text[:500]
    assert ("no database yet" in text) if kind == "no file" else ("no runs table" in text)
    assert kind == "no tables" or not db.exists()  # the dashboard reads; it never creates a database
    # a stale choice remembered by a browser is an empty state too, not a 500
    assert _page(client, dash_call, "/fills", "gone").status_code == 200


def test_the_served_dashboard_is_hardened(tmp_path: Path) -> None:
    app = create_app(StorageRunSource(f"sqlite:///{(tmp_path / 'x.db').as_posix()}"))
    server = DashboardServer(app, "127.0.0.1", 0).start()
    try:

        def get(path: str, host: str) -> http.client.HTTPResponse:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", path, headers={"Host": host})
            resp = conn.getresponse()
            resp.read()
            conn.close()
            return resp

        ok = get("/", f"127.0.0.1:{server.port}")
        assert ok.status == 200
        assert ok.getheader("Server") == "ai-trading-dashboard"  # waitress, not werkzeug
        csp = ok.getheader("Content-Security-Policy") or ""
        assert "script-src 'self' 'sha256-" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert ok.getheader("Referrer-Policy") == "no-referrer"
        assert get("/", f"localhost:{server.port}").status == 200
        for host in (
            "evil.example",
            f"evil.example:{server.port}",
            f"127.0.0.1.evil.example:{server.port}",
            "",
        ):
            assert get("/_dash-layout", host).status == 400, host
    finally:
        server.stop()
    with pytest.raises(ConfigError, match="beyond loopback"):
        DashboardServer(app, "0.0.0.0", 0)  # noqa: S104
    auth = BasicAuth("u", hash_password("p"))
    with pytest.raises(ConfigError, match="--allowed-host"):
        DashboardServer(app, "0.0.0.0", 0, auth=auth)  # noqa: S104 - which names would be valid?
    assert allowed_hosts("127.0.0.1", 8080) >= {"127.0.0.1:8080", "localhost:8080", "[::1]:8080"}
    assert "dash.example.com" in allowed_hosts("0.0.0.0", 443, ["dash.example.com"])  # noqa: S104


def test_cli_serves_a_fresh_state_dir_with_waitress(tmp_path: Path) -> None:
    exe = shutil.which("ai-trading") or str(Path(sys.executable).with_name("ai-trading"))
    proc = subprocess.Popen(
        [exe, "dashboard", "--port", "0", "--state-dir", str(tmp_path / "fresh")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = ""
        for line in proc.stdout:
            if "dashboard on" in line:
                break
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        conn = http.client.HTTPConnection("127.0.0.1", int(match[1]), timeout=10)
        conn.request("GET", "/_dash-layout")
        resp = conn.getresponse()
        body = resp.read().decode()
        assert resp.status == 200 and resp.getheader("Server") == "ai-trading-dashboard"
        assert '"placeholder": "no runs"' in body or '"placeholder":"no runs"' in body
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    refused = subprocess.run(
        [exe, "dashboard", "--host", "0.0.0.0", "--port", "0", "--state-dir", str(tmp_path / "fresh")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0 and "beyond loopback" in refused.stdout + refused.stderr


def test_failed_logins_are_throttled_and_logged_as_security_events(tmp_path: Path) -> None:
    now = [0.0]
    throttle = LoginThrottle(limit=3, window=60, lockout=30, monotonic=lambda: now[0])
    auth = BasicAuth("trader", hash_password("right"))
    app = create_app(
        StorageRunSource(f"sqlite:///{(tmp_path / 'x.db').as_posix()}"), auth=auth, throttle=throttle
    )
    client = app.server.test_client()
    events: list[dict[str, Any]] = []
    sink = logger.add(lambda m: events.append(dict(m.record["extra"])), level="WARNING")

    def basic(password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"trader:{password}".encode()).decode()}

    try:
        assert client.get("/").status_code == 401  # no credentials yet: not a failed login
        assert [client.get("/", headers=basic("wrong")).status_code for _ in range(3)] == [401, 401, 401]
        locked = client.get("/", headers=basic("right"))  # even the right password waits out the lockout
        assert locked.status_code == 429 and int(locked.headers["Retry-After"]) == 31
        now[0] = 31.0
        assert client.get("/", headers=basic("right")).status_code == 200
        for _ in range(3):
            client.get("/", headers=basic("wrong"))
        assert throttle.retry_after("127.0.0.1") == pytest.approx(60.0)  # the second lockout doubles
    finally:
        logger.remove(sink)
    kinds = [e.get("security_event") for e in events]
    assert kinds.count("login_failed") == 6 and kinds.count("login_locked") == 2
    assert all(e.get("user") == "trader" for e in events if e.get("security_event") == "login_failed")


def test_webhook_urls_are_masked_on_the_system_page(stored_run: dict[str, Any], dash_call: Any) -> None:
    from ai_trading_storage.connection import create_db_engine
    from ai_trading_storage.repositories import Database

    from ai_trading_core.clock import SimulatedClock

    doc = json.loads(json.dumps(stored_run["document"]))
    doc["run_id"] = "with-webhooks"
    doc["config"]["alerts"] = [
        {"name": "webhook", "params": {"url": "https://alerts.example.com/hook/T0K3N?sig=abc"}},
        {"name": "email", "params": {"note": f"also posted to {SLACK}"}},
    ]
    db = Database(create_db_engine(stored_run["url"]))
    db.runs.save(doc, stored_at=SimulatedClock(0).now())
    db.dispose()
    client = create_app(StorageRunSource(stored_run["url"])).server.test_client()
    text = json.dumps(_page(client, dash_call, "/system", "with-webhooks").get_json())
    assert "T0K3N" not in text and "SECRETPATHxyz" not in text
    assert "https://alerts.example.com/**********" in text
    assert "https://hooks.slack.com/**********" in text
    assert mask_webhook_url("https://h.example/") == "https://h.example/"
    assert redact({"webhook_url": SLACK}) == {"webhook_url": "https://hooks.slack.com/**********"}


def test_no_plotly_cloud_button() -> None:
    assert GRAPH_CONFIG["showSendToCloud"] is False and GRAPH_CONFIG["showLink"] is False
    assert (
        GRAPH_CONFIG["displaylogo"] is False and "sendDataToCloud" in GRAPH_CONFIG["modeBarButtonsToRemove"]
    )


def test_fills_are_filtered_sorted_and_paged_on_the_server() -> None:
    fills = [
        {
            "timestamp": f"2024-01-{1 + i % 28:02d}T00:00:00Z",
            "symbol": f"S{i % 500:03d}",
            "side": "buy" if i % 2 else "sell",
            "quantity": str(1 + i % 7),
            "price": str(100 + (i % 97) * 0.05),
            "strategy_id": "sma",
            "client_order_id": f"o{i}",
        }
        for i in range(43_000)
    ]
    page = query_rows(
        fills,
        FILL_COLUMNS,
        {
            "startRow": 50,
            "endRow": 100,
            "sortModel": [{"colId": "price", "sort": "desc"}],
            "filterModel": {"symbol": {"filterType": "text", "type": "equals", "filter": "s007"}},
        },
        {"S007": "0.05"},
    )
    expected = sorted((f for f in fills if f["symbol"] == "S007"), key=lambda f: -float(f["price"]))
    assert page["rowCount"] == len(expected) == 86
    assert [r["client_order_id"] for r in page["rowData"]] == [f["client_order_id"] for f in expected[50:86]]
    assert all(re.fullmatch(r"\d{3}\.\d{2}", r["price"]) for r in page["rowData"])
    numeric = query_rows(
        fills,
        FILL_COLUMNS,
        {
            "startRow": 0,
            "endRow": 10,
            "filterModel": {"quantity": {"filterType": "number", "type": "greaterThan", "filter": 6}},
        },
    )
    assert numeric["rowCount"] == sum(1 for f in fills if int(f["quantity"]) > 6)
    assert format_value("101.2345", "price", "0.01") == "101.23"
    assert format_value("1.23456", "price", "0.00005") == "1.23455"
    assert format_value(0.1234, "pct") == "12.34%" and format_value(1234567.891, "money") == "1,234,567.89"


def test_top_bottom_n_with_a_filter() -> None:
    labels = [f"SYM{i:03d}" for i in range(500)]
    values = [float(i - 250) for i in range(500)]
    shown, vals, matched = top_bottom(labels, values, 5)
    assert matched == 500 and shown == [
        "SYM499",
        "SYM498",
        "SYM497",
        "SYM496",
        "SYM495",
        "SYM004",
        "SYM003",
        "SYM002",
        "SYM001",
        "SYM000",
    ]
    shown, _, matched = top_bottom(labels, values, 5, "sym00")
    assert matched == 10 and len(shown) == 10


@pytest.mark.redis
def test_the_kill_switch_reports_whether_the_running_engine_acknowledged(tmp_path: Path, dash_call: Any) -> None:
    import uuid
    from datetime import UTC, datetime
    from decimal import Decimal

    import redis
    from ai_trading_dashboard import RedisRunFeed
    from ai_trading_redis.cache import RedisCacheParams
    from ai_trading_redis.plugin import RedisCacheComponent

    from ai_trading_core.enums import RiskState, RunMode, Timeframe
    from ai_trading_core.models import RiskEvent
    from ai_trading_core.result import Session

    url, prefix = "redis://127.0.0.1:6379/11", f"acktest{uuid.uuid4().hex[:8]}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis unreachable: {exc}")
    engine_side = RedisCacheComponent(RedisCacheParams(url=url, prefix=prefix), feed=True)
    engine_side.ai_trading_session_start(
        Session(run_id=uuid.uuid4().hex, mode=RunMode.PAPER, config_hash="z" * 64, timeframe=Timeframe.D1,
                symbols=("SPY",), initial_cash=Decimal(1000), currency="USD", name="desk-1")
    )
    auth = BasicAuth("trader", hash_password("pw"))
    header = {"Authorization": "Basic " + base64.b64encode(b"trader:pw").decode()}
    app = create_app(StorageRunSource(f"sqlite:///{(tmp_path / 'x.db').as_posix()}"), auth=auth,
                     feed=RedisRunFeed(url, prefix), state_dir=tmp_path / "state")
    client = app.server.test_client()

    def ack() -> str:
        inputs = [
            {"id": "kill-store", "property": "data", "value": {"requested_at": "2024-01-02T00:00:00+00:00"}},
            {"id": "live-version", "property": "data", "value": None},
            {"id": "tick", "property": "n_intervals", "value": 1},
        ]
        resp = dash_call(client, "kill-ack.children", inputs, "kill-store.data", headers=header)
        return str(resp.get_json()["response"]["kill-ack"]["children"])

    import time

    try:
        deadline = time.monotonic() + 10
        while "desk-1" not in (text := ack()) and time.monotonic() < deadline:
            time.sleep(0.1)  # the engine side's writer thread publishes within 50 ms
        assert text.startswith("Waiting for desk-1 to acknowledge"), text
        engine_side.ai_trading_risk_state(
            RiskEvent(timestamp=datetime(2024, 1, 2, tzinfo=UTC), source="kill_switch",
                      previous_state=RiskState.ACTIVE, state=RiskState.HALTED, reason="dashboard")
        )
        deadline = time.monotonic() + 10
        while "Acknowledged" not in (text := ack()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert text == "Acknowledged: HALTED reported by desk-1.", text
    finally:
        engine_side.close()
        client_redis = redis.Redis.from_url(url)
        keys = list(client_redis.scan_iter(f"{prefix}:*"))
        if keys:
            client_redis.delete(*keys)
        client_redis.close()
