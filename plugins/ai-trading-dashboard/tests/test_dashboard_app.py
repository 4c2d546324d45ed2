"""The Dash app over a database holding a real run: pages, numbers, secrets, auth, kill switch."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ai_trading_dashboard import (
    BasicAuth,
    DashboardServer,
    EventBuffer,
    JsonRunSource,
    LoginThrottle,
    StorageRunSource,
    build_view,
    create_app,
    hash_password,
    is_loopback,
    redact,
    verify_password,
)
from ai_trading_dashboard.pages import PAGES
from ai_trading_storage.connection import create_db_engine
from ai_trading_storage.repositories import Database
from click.testing import CliRunner

from ai_trading_core import rundoc
from ai_trading_core.clock import SimulatedClock
from ai_trading_core.errors import ConfigError

PLANTED = "PLANTED-s3cr3t-9d2f"  # the credential planted by the stored_run fixture
PAGE_OUTPUT = "..page.children..." + "...".join(f"nav-{s}.className" for s, _ in PAGES) + ".."
USER, PASSWORD = "risk-officer", "correct horse battery"
KILL_OUTPUT = "..kill-result.children...kill-store.data.."


def page_inputs(path: str, run_id: str) -> list[dict[str, Any]]:
    return [
        {"id": "url", "property": "pathname", "value": path},
        {"id": "run", "property": "value", "value": run_id},
    ]


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture(scope="module")
def password_hash() -> str:
    return hash_password(PASSWORD)


def test_view_numbers_match_the_run(stored_run: dict[str, Any]) -> None:
    source = StorageRunSource(stored_run["url"])
    doc = stored_run["document"]
    assert source.run_ids() == [stored_run["run_id"]]
    view = build_view(source.load(stored_run["run_id"]), source.decision_prices(stored_run["run_id"]))
    equity = np.array([p[1] for p in doc["equity_curve"]])
    np.testing.assert_array_equal(view.equity, equity)
    # Sharpe and drawdown equal the analytics reporter's figures stored in the document
    assert view.metrics["sharpe"] == pytest.approx(doc["metrics"]["sharpe"], rel=1e-12)
    assert view.metrics["max_drawdown"] == pytest.approx(doc["metrics"]["max_drawdown"], rel=1e-12)
    wealth = np.r_[1.0, equity / float(doc["initial_cash"])]
    assert view.drawdown.min() == pytest.approx((wealth / np.maximum.accumulate(wealth) - 1).min())
    assert view.trade_stats["win_rate"] == pytest.approx(doc["metrics"]["win_rate"])
    assert view.trade_stats["profit_factor"] == pytest.approx(doc["metrics"]["profit_factor"])
    # slippage: every filled order against its decision close from the audit trail, by hand
    filled = [o for o in rundoc.rows(doc, "orders") if o["status"] == "filled"]
    assert len(view.slippage_bps) == len(filled) > 0
    row = view.slippage_bps[0]
    sign = 1 if row["side"] == "buy" else -1
    assert row["slippage_bps"] == pytest.approx(sign * (row["fill_price"] / row["decision_price"] - 1) * 1e4)
    source.close()


def test_every_page_renders_with_run_data(stored_run: dict[str, Any], dash_call: Any) -> None:
    app = create_app(StorageRunSource(stored_run["url"]), state_dir=stored_run["state_dir"])
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout").get_json()
    assert stored_run["run_id"] in json.dumps(layout)
    for slug, _ in PAGES:
        resp = dash_call(client, PAGE_OUTPUT, page_inputs(f"/{slug}", stored_run["run_id"]), "url.pathname")
        assert resp.status_code == 200, slug
        body = resp.get_json()["response"]
        assert body[f"nav-{slug}"]["className"] == "active"
    resp = dash_call(client, PAGE_OUTPUT, page_inputs("/portfolio", stored_run["run_id"]), "url.pathname")
    text = resp.get_data(as_text=True)
    first, last = stored_run["document"]["equity_curve"][0], stored_run["document"]["equity_curve"][-1]
    assert json.dumps(first[1]) in text and json.dumps(last[1]) in text


def test_no_response_contains_a_secret(stored_run: dict[str, Any], tmp_path: Path, dash_call: Any) -> None:
    # Besides the kernel-redacted credential, plant raw secrets in a stored document, as a
    # careless plugin might: a password in a URL and an api secret in params.
    doc = json.loads(json.dumps(stored_run["document"]))
    doc["run_id"] = "tampered"
    doc["config"]["broker"]["params"]["api_secret"] = PLANTED
    doc["config"]["cache"] = {"name": "redis", "params": {"url": f"redis://trader:{PLANTED}@10.0.0.5:6379/0"}}
    db = Database(create_db_engine(stored_run["url"]))
    db.runs.save(doc, stored_at=SimulatedClock(0).now())
    db.dispose()
    app = create_app(StorageRunSource(stored_run["url"]))
    client = app.server.test_client()
    bodies = [client.get(p).get_data(as_text=True) for p in ("/", "/_dash-layout", "/_dash-dependencies")]
    for run_id in (stored_run["run_id"], "tampered"):
        for slug, _ in PAGES:
            bodies.append(
                dash_call(client, PAGE_OUTPUT, page_inputs(f"/{slug}", run_id), "url.pathname").get_data(
                    as_text=True
                )
            )
    assert all(PLANTED not in b for b in bodies)
    system = bodies[-1]
    assert "**********" in system, system[system.find("Run configuration") :][:1500]
    assert "api_secret" in system, (
        system[system.find("broker") :][:800] and "redis://trader:**********@10.0.0.5" in system
    )


def test_redact_rules() -> None:
    doc = {
        "params": {"token": "t", "password_credential": "smtp", "url": "postgresql://u:pw@db/x", "n": 3},
        "credentials": {"a": "b"},
    }
    assert redact(doc) == {
        "params": {
            "token": "**********",
            "password_credential": "smtp",
            "url": "postgresql://u:**********@db/x",
            "n": 3,
        },
        "credentials": {"a": "**********"},
    }


def test_password_hash_roundtrip_and_format(password_hash: str) -> None:
    assert password_hash.startswith("scrypt$16384$8$1$") and PASSWORD not in password_hash
    assert verify_password(PASSWORD, password_hash)
    assert not verify_password("wrong", password_hash)
    assert not verify_password(PASSWORD, "scrypt$1$1$1$garbage")
    assert hash_password(PASSWORD) != password_hash  # salted
    with pytest.raises(ConfigError, match="scrypt"):
        BasicAuth(USER, "plain-text-password")


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("::")


def test_refuses_to_listen_beyond_loopback_without_credentials(stored_run: dict[str, Any]) -> None:
    app = create_app(StorageRunSource(stored_run["url"]))
    with pytest.raises(ConfigError, match="beyond loopback"):
        DashboardServer(app, "0.0.0.0", 0)  # noqa: S104 - the point of the test
    from ai_trading_core.cli import build_cli
    from ai_trading_core.plugins import create_plugin_host

    cli = build_cli(create_plugin_host())
    assert {"dashboard", "dashboard-hash-password"} <= set(cli.commands)
    result = CliRunner().invoke(
        cli, ["dashboard", "--host", "0.0.0.0", "--port", "0", "--db", stored_run["url"]]
    )
    assert result.exit_code != 0 and "beyond loopback" in result.output


def test_every_route_needs_auth_when_configured(
    stored_run: dict[str, Any], password_hash: str, dash_call: Any
) -> None:
    auth = BasicAuth(USER, password_hash)
    # no lockout here: this test counts 401s (throttling has its own test)
    app = create_app(StorageRunSource(stored_run["url"]), auth=auth, throttle=LoginThrottle(limit=1000))
    client = app.server.test_client()
    routes = ["/", "/portfolio", "/system", "/_dash-layout", "/_dash-dependencies", "/assets/dashboard.css"]
    for route in routes:
        resp = client.get(route)
        assert resp.status_code == 401, route
        assert resp.headers["WWW-Authenticate"].startswith("Basic ")
        assert client.get(route, headers=basic(USER, "wrong")).status_code == 401
    resp = dash_call(client, PAGE_OUTPUT, page_inputs("/portfolio", stored_run["run_id"]), "url.pathname")
    assert resp.status_code == 401
    assert client.get("/", headers=basic(USER, PASSWORD)).status_code == 200
    ok = dash_call(
        client,
        PAGE_OUTPUT,
        page_inputs("/portfolio", stored_run["run_id"]),
        "url.pathname",
        headers=basic(USER, PASSWORD),
    )
    assert ok.status_code == 200


def test_served_beyond_loopback_refuses_anonymous_requests(
    stored_run: dict[str, Any], password_hash: str
) -> None:
    import urllib.error
    import urllib.request

    auth = BasicAuth(USER, password_hash)
    server = DashboardServer(
        create_app(StorageRunSource(stored_run["url"]), auth=auth),
        "0.0.0.0",
        0,  # noqa: S104
        auth=auth,
        extra_hosts=("127.0.0.1",),
    ).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"http://127.0.0.1:{server.port}/_dash-layout", timeout=5)  # noqa: S310
        assert info.value.code == 401
        req = urllib.request.Request(
            f"http://127.0.0.1:{server.port}/_dash-layout", headers=basic(USER, PASSWORD)
        )
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
            assert resp.status == 200
    finally:
        server.stop()


def test_kill_switch_is_confirmed_and_authenticated(
    stored_run: dict[str, Any], password_hash: str, tmp_path: Path, dash_call: Any
) -> None:
    state_dir = tmp_path / "state"
    clock = SimulatedClock(1_700_000_000 * 10**9)
    events = EventBuffer()
    # without auth the button is disabled and the action refused
    anon = create_app(StorageRunSource(stored_run["url"]), state_dir=state_dir).server.test_client()
    page = dash_call(anon, PAGE_OUTPUT, page_inputs("/system", stored_run["run_id"]), "url.pathname")
    assert '"disabled": true' in page.get_data(as_text=True).replace('"disabled":true', '"disabled": true')
    refused = dash_call(
        anon,
        KILL_OUTPUT,
        [{"id": "kill-confirm", "property": "submit_n_clicks", "value": 1}],
        "kill-confirm.submit_n_clicks",
    )
    assert "Refused" in refused.get_data(as_text=True)
    assert not (state_dir / "kill-switch" / "halt-request.json").exists()
    # with auth: the button opens the confirmation dialog, and confirming writes the request
    app = create_app(
        StorageRunSource(stored_run["url"]),
        auth=BasicAuth(USER, password_hash),
        state_dir=state_dir,
        clock=clock,
        events=events,
    )
    client = app.server.test_client()
    hdr = basic(USER, PASSWORD)
    ask = dash_call(
        client,
        "kill-confirm.displayed",
        [{"id": "kill-button", "property": "n_clicks", "value": 1}],
        "kill-button.n_clicks",
        headers=hdr,
    )
    assert ask.get_json()["response"]["kill-confirm"]["displayed"] is True
    assert not (state_dir / "kill-switch" / "halt-request.json").exists()  # nothing before confirmation
    done = dash_call(
        client,
        KILL_OUTPUT,
        [{"id": "kill-confirm", "property": "submit_n_clicks", "value": 1}],
        "kill-confirm.submit_n_clicks",
        headers=hdr,
    )
    assert "Halt requested" in done.get_data(as_text=True)
    request = json.loads((state_dir / "kill-switch" / "halt-request.json").read_text())
    assert request["requested_by"] == f"dashboard:{USER}"
    assert request["requested_at"].startswith("2023-11-14T22:13:20")
    assert events.since(0)[-1]["kind"] == "alert"


def test_live_events_reach_the_browser_store(stored_run: dict[str, Any]) -> None:
    events = EventBuffer()
    app = create_app(StorageRunSource(stored_run["url"]), events=events)
    client = app.server.test_client()
    events.push("equity", {"timestamp": "2024-01-02T00:00:00+00:00", "equity": 100250.5})
    events.push("fill", {"symbol": "SPY"})
    events.push(
        "alert",
        {
            "severity": "critical",
            "source": "circuit_breaker",
            "message": "halted",
            "details": {"token": PLANTED},
        },
    )
    state = {"seq": 0, "equity": [], "alerts": [], "heartbeats": {}, "fills": 0}
    resp = client.post(
        "/_dash-update-component",
        content_type="application/json",
        data=json.dumps(
            {
                "output": "live.data",
                "outputs": {"id": "live", "property": "data"},
                "inputs": [{"id": "tick", "property": "n_intervals", "value": 1}],
                "state": [{"id": "live", "property": "data", "value": state}],
                "changedPropIds": ["tick.n_intervals"],
            }
        ),
    )
    text = resp.get_data(as_text=True)
    data = resp.get_json()["response"]["live"]["data"]
    assert data["equity"] == [{"timestamp": "2024-01-02T00:00:00+00:00", "equity": 100250.5}]
    assert data["fills"] == 1 and data["seq"] == 3 and PLANTED not in text


def test_json_run_source(stored_run: dict[str, Any], tmp_path: Path, dash_call: Any) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(stored_run["document"]))
    source = JsonRunSource(path)
    assert source.run_ids() == [stored_run["run_id"]]
    client = create_app(source).server.test_client()
    resp = dash_call(client, PAGE_OUTPUT, page_inputs("/trades", stored_run["run_id"]), "url.pathname")
    assert resp.status_code == 200 and "Win rate" in resp.get_data(as_text=True)
    with pytest.raises(ConfigError, match="not found"):
        JsonRunSource(tmp_path / "missing.json")
