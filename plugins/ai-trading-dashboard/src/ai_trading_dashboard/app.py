"""The Dash application: ``create_app(run_source, auth=...)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask
from dash import Dash, Input, Output, State, dcc, html, no_update
from loguru import logger

from ai_trading_core.clock import WallClock
from ai_trading_core.errors import AiTradingError

from . import figures as f
from .auth import BasicAuth
from .killswitch import request_halt
from .live import EventBuffer
from .pages import PAGES, portfolio_page, risk_page, strategies_page, system_page, trades_page
from .redact import redact
from .sources import RunSource
from .views import RunView, build_view

ASSETS = Path(__file__).parent / "assets"
LIVE_KEEP = 500  # live points kept in the browser


def _breaker_states(state_dir: Path) -> list[dict[str, Any]]:
    try:
        from ai_trading_circuit_breaker.state_file import list_states, read_state
    except ImportError:
        return []
    out = []
    for path in list_states(state_dir):
        try:
            doc = read_state(path) or {}
        except AiTradingError as exc:
            doc = {"state": "unreadable", "reason": str(exc)}
        out.append(
            {
                "id": path.stem,
                "state": doc.get("state"),
                "reason": doc.get("reason"),
                "since": doc.get("since"),
            }
        )
    return out


def create_app(
    run_source: RunSource,
    *,
    auth: BasicAuth | None = None,
    events: EventBuffer | None = None,
    state_dir: Path = Path(".ai-trading"),
    clock: Any = None,
    refresh_ms: int = 2000,
    title: str = "ai-trading",
) -> Dash:
    """Build the dashboard over ``run_source``.

    :param auth: when given, every route (pages, assets, callbacks) needs HTTP basic auth; the
        kill switch works only with it.
    :param events: live events of a running engine (in process or fed from Redis).
    :param state_dir: the trading process's state directory (circuit-breaker state, halt requests).
    :param refresh_ms: live refresh period, milliseconds.
    """
    events = events if events is not None else EventBuffer()
    clock = clock if clock is not None else WallClock()
    app = Dash(
        __name__,
        assets_folder=str(ASSETS),
        title=title,
        update_title="",
        suppress_callback_exceptions=True,
        serve_locally=True,
    )
    server: flask.Flask = app.server

    if auth is not None:

        @server.before_request
        def _require_auth() -> flask.Response | None:
            if auth.check(flask.request.authorization):
                return None
            return flask.Response(
                "authentication required\n",
                401,
                {"WWW-Authenticate": 'Basic realm="ai-trading dashboard", charset="UTF-8"'},
            )

    @server.after_request
    def _headers(response: flask.Response) -> flask.Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    cache: dict[str, tuple[RunView, dict[str, Any]]] = {}

    def view_of(run_id: str) -> tuple[RunView, dict[str, Any]]:
        if run_id not in cache:
            doc = run_source.load(run_id)
            cache.clear()  # one run at a time in memory
            cache[run_id] = (build_view(doc, run_source.decision_prices(run_id)), doc)
        return cache[run_id]

    def run_options() -> list[dict[str, str]]:
        return [{"label": rid, "value": rid} for rid in reversed(run_source.run_ids())]

    def serve_layout() -> html.Div:
        options = run_options()
        return html.Div(
            [
                dcc.Location(id="url"),
                html.Div(
                    [
                        html.Div(["ai-trading ", html.Span("monitor")], className="brand"),
                        html.Nav(
                            [dcc.Link(label, href=f"/{slug}", id=f"nav-{slug}") for slug, label in PAGES],
                            className="nav",
                        ),
                        html.Div(
                            dcc.Dropdown(
                                id="run",
                                options=options,
                                value=options[0]["value"] if options else None,
                                clearable=False,
                                placeholder="no stored runs",
                            ),
                            className="run-picker",
                        ),
                        html.Span("live: idle", id="live-badge", className="live-badge"),
                    ],
                    className="topbar",
                ),
                html.Div(id="page", className="page"),
                dcc.Interval(id="tick", interval=refresh_ms, n_intervals=0),
                dcc.Store(
                    id="live", data={"seq": 0, "equity": [], "alerts": [], "heartbeats": {}, "fills": 0}
                ),
            ]
        )

    app.layout = serve_layout

    @app.callback(
        Output("page", "children"),
        *[Output(f"nav-{s}", "className") for s, _ in PAGES],
        Input("url", "pathname"),
        Input("run", "value"),
    )
    def render_page(pathname: str | None, run_id: str | None) -> tuple[Any, ...]:
        slug = (pathname or "/").strip("/") or "portfolio"
        classes = tuple("active" if s == slug else "" for s, _ in PAGES)
        if run_id is None:
            return (
                html.Div(
                    [
                        html.H2("No stored runs"),
                        html.Div(
                            "Run `ai-trading run` with a [storage] section, "
                            "or start the dashboard with --run-json.",
                            className="note",
                        ),
                    ]
                ),
                *classes,
            )
        try:
            view, doc = view_of(run_id)
        except AiTradingError as exc:
            return (
                html.Div([html.H2("Run unavailable"), html.Div(str(redact(str(exc))), className="note")]),
                *classes,
            )
        if slug == "risk":
            page = risk_page(view, _breaker_states(state_dir))
        elif slug == "strategies":
            page = strategies_page(view)
        elif slug == "trades":
            page = trades_page(view)
        elif slug == "system":
            page = system_page(view, doc, kill_switch_enabled=auth is not None)
        elif slug == "portfolio":
            page = portfolio_page(view)
        else:
            page = html.Div([html.H2("Not found"), dcc.Link("Portfolio", href="/portfolio")])
        return (page, *classes)

    @app.callback(
        Output("live", "data"),
        Output("live-badge", "children"),
        Output("live-badge", "className"),
        Input("tick", "n_intervals"),
        State("live", "data"),
    )
    def poll_live(_: int, data: dict[str, Any]) -> tuple[Any, str, str]:
        new = events.since(int(data.get("seq", 0)))
        if not new:
            active = bool(data.get("equity") or data.get("fills"))
            return (
                no_update,
                "live: on" if active else "live: idle",
                "live-badge on" if active else "live-badge",
            )
        data = dict(data)
        for e in new:
            kind, body = e["kind"], redact(e["data"])
            if kind == "equity" and "equity" in body:
                data["equity"] = [
                    *data["equity"],
                    {"timestamp": body.get("timestamp"), "equity": body["equity"]},
                ]
            elif kind == "alert":
                data["alerts"] = [*data["alerts"], body][-50:]
            elif kind == "heartbeat":
                data["heartbeats"] = {**data["heartbeats"], str(body.get("process")): body.get("timestamp")}
            elif kind == "fill":
                data["fills"] = int(data.get("fills", 0)) + 1
        data["equity"] = data["equity"][-LIVE_KEEP:]
        data["seq"] = new[-1]["seq"]
        return data, f"live: {data['fills']} fill(s)", "live-badge on"

    @app.callback(
        Output("live-equity-graph", "figure"), Output("live-status", "children"), Input("live", "data")
    )
    def live_equity(data: dict[str, Any]) -> tuple[Any, str]:
        points = data.get("equity", [])
        status = (
            f"{len(points)} live point(s), last {points[-1]['timestamp']}"
            if points
            else "No live engine connected: equity updates appear here while a run publishes events."
        )
        return f.live_equity_figure(points), status

    @app.callback(
        Output("alerts-live", "children"), Output("heartbeats-live", "children"), Input("live", "data")
    )
    def live_system(data: dict[str, Any]) -> tuple[Any, Any]:
        alerts = [
            [a.get("timestamp"), str(a.get("severity", "")).upper(), a.get("source"), a.get("message")]
            for a in reversed(data.get("alerts", []))
        ]
        beats = [[k, v] for k, v in sorted(data.get("heartbeats", {}).items())]
        return (
            f.table(["time", "severity", "source", "message"], alerts) if alerts else "No alerts received.",
            f.table(["process", "last heartbeat"], beats) if beats else "No heartbeats received.",
        )

    @app.callback(
        Output("kill-confirm", "displayed"), Input("kill-button", "n_clicks"), prevent_initial_call=True
    )
    def ask_kill(n: int) -> bool:
        return bool(n)

    @app.callback(
        Output("kill-result", "children"), Input("kill-confirm", "submit_n_clicks"), prevent_initial_call=True
    )
    def do_kill(submitted: int | None) -> Any:
        if not submitted:
            return no_update
        # Checked again here, not only by the request hook: the kill switch is never anonymous.
        if auth is None or not auth.check(flask.request.authorization):
            return "Refused: the kill switch needs an authenticated dashboard."
        user = flask.request.authorization.get("username") if flask.request.authorization else "?"
        path = request_halt(
            state_dir,
            requested_by=f"dashboard:{user}",
            reason="kill switch pressed on the dashboard",
            now=clock.now(),
        )
        logger.warning("kill switch: halt requested from the dashboard by {}", user)
        events.push(
            "alert",
            {
                "severity": "critical",
                "source": "dashboard",
                "message": "kill switch: halt requested",
                "timestamp": clock.now().isoformat(),
            },
        )
        return f"Halt requested at {clock.now().isoformat()} ({path.name})."

    return app
