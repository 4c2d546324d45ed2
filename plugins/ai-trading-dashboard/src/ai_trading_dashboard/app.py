"""The Dash application: ``create_app(run_source, auth=..., feed=...)``.

Runs come from two places: the stored runs of ``run_source`` (finished runs) and, with a
``feed``, the runs a running engine registers in Redis (live, marked ``running``). The run
picker lists both, newest first, and remembers the choice in the browser's local storage.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import flask
from dash import ClientsideFunction, Dash, Input, Output, State, dcc, html, no_update
from loguru import logger

from ai_trading_core.clock import WallClock
from ai_trading_core.errors import AiTradingError
from ai_trading_core.rundoc import rows as table_rows
from ai_trading_core.rundoc import with_rows

from . import figures as f
from .auth import BasicAuth
from .feed import LiveRun, RedisRunFeed
from .grids import FILL_COLUMNS, ORDER_COLUMNS, POSITION_COLUMNS, format_value, query_rows
from .killswitch import request_halt
from .live import EventBuffer
from .live_pages import (
    fills_page,
    live_drawdown_figure,
    live_equity_figure,
    live_header,
    live_pending_page,
    live_portfolio_page,
    live_risk_page,
    live_system_panels,
    orders_page,
    positions_page,
    positions_top_figure,
)
from .pages import (
    PAGES,
    kill_switch_panel,
    portfolio_page,
    risk_page,
    strategies_page,
    symbol_pnl_figure,
    system_page,
    trades_page,
)
from .pages import header as stored_header
from .redact import redact
from .security import LoginThrottle, content_security_policy
from .sources import RunSource
from .views import RunView, build_view

ASSETS = Path(__file__).parent / "assets"
LIVE_KEEP = 500  # in-process live points kept in the browser
CATALOG_TTL = 1.0  # seconds a run list is reused between callbacks
EMPTY_HELP = (
    "No runs yet. Store a run: `ai-trading run examples/quickstart.toml` with a [storage] section "
    '(name = "sql"), then reload. To watch a paper or live run while it trades, give it a [cache] '
    'section (name = "redis") and start the dashboard with `ai-trading dashboard --redis redis://127.0.0.1:6379/0`.'
)


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


def _label(entry: dict[str, Any]) -> str:
    started = format_value(entry.get("started_at"), "time")[:16] or "?"
    status = str(entry.get("status") or "")
    mark = {"running": "● running", "stalled": "◌ stalled", "stopped": "stopped", "finished": "finished"}.get(
        status, ""
    )
    name = entry.get("name") or str(entry.get("run_id"))[:12]
    return " · ".join(p for p in (str(name), str(entry.get("mode") or "?"), started, mark) if p)


def _ago(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.1f} s ago"


def _broker_state(run_status: str, open_orders: Any, age: float | None, stale_after: float) -> str:
    """What the feed can tell of the broker: whether open orders are being answered."""
    if run_status != "running":
        return run_status.upper()
    if open_orders and (age is None or age > stale_after):
        return "NO ANSWER"  # orders are open but the broker has said nothing for a while
    return "ANSWERING" if age is not None else "NO ORDERS YET"


def _stored_positions(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """End-of-run positions of a stored run, with the average entry price of its open trades."""
    open_trades: dict[str, list[dict[str, Any]]] = {}
    for t in table_rows(doc, "trades"):
        if t.get("is_open"):
            open_trades.setdefault(str(t.get("symbol")), []).append(t)
    rows = []
    for symbol, qty in (doc.get("final_positions") or {}).items():
        q = f.fmt_float(qty) or 0.0
        if q == 0:
            continue
        trades = open_trades.get(symbol, [])
        size = sum(abs(f.fmt_float(t.get("quantity")) or 0.0) for t in trades)
        avg = (
            sum(
                abs(f.fmt_float(t.get("quantity")) or 0.0) * (f.fmt_float(t.get("entry_price")) or 0.0)
                for t in trades
            )
            / size
            if size
            else None
        )
        rows.append(
            {
                "symbol": symbol,
                "quantity": qty,
                "average_price": avg,
                "price": None,
                "market_value": None,
                "unrealised_pnl": None,
                "weight": None,
            }
        )
    return rows


def _stored_fills(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The executions of a stored run. A run document keeps its fills since schema 2; an older
    one kept orders only, and then each row is one (partly) filled order at its average fill
    price."""
    if "fills" in doc:
        return [{**fill, "notional": _notional(fill)} for fill in table_rows(doc, "fills")]
    out = []
    for o in table_rows(doc, "orders"):
        filled = f.fmt_float(o.get("filled_quantity")) or 0.0
        if filled <= 0:
            continue
        out.append(
            {
                "timestamp": o.get("updated_at") or o.get("created_at"),
                "symbol": o.get("symbol"),
                "side": o.get("side"),
                "quantity": o.get("filled_quantity"),
                "price": o.get("average_fill_price"),
                "commission": o.get("commission"),
                "strategy_id": o.get("strategy_id"),
                "venue": o.get("venue") or "",
                "client_order_id": o.get("client_order_id"),
            }
        )
    return out


def _notional(fill: dict[str, Any]) -> float | None:
    quantity, price = f.fmt_float(fill.get("quantity")), f.fmt_float(fill.get("price"))
    return None if quantity is None or price is None else quantity * price


def create_app(
    run_source: RunSource,
    *,
    auth: BasicAuth | None = None,
    events: EventBuffer | None = None,
    feed: RedisRunFeed | None = None,
    state_dir: Path = Path(".ai-trading"),
    clock: Any = None,
    refresh_ms: int = 1000,
    title: str = "ai-trading",
    throttle: LoginThrottle | None = None,
) -> Dash:
    """Build the dashboard over ``run_source`` (stored runs) and ``feed`` (live runs).

    :param auth: when given, every route (pages, assets, callbacks) needs HTTP basic auth; the
        kill switch works only with it. Failed logins are throttled per client address.
    :param events: in-process live events (alerts, heartbeats) of an engine in this process.
    :param feed: the live run feed in Redis (``ai-trading dashboard --redis URL``).
    :param state_dir: the trading process's state directory (circuit-breaker state, halt requests).
    :param refresh_ms: live refresh period, milliseconds.
    """
    events = events if events is not None else EventBuffer()
    clock = clock if clock is not None else WallClock()
    throttle = throttle if throttle is not None else LoginThrottle()
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
            address = str(flask.request.remote_addr or "?")
            wait = throttle.retry_after(address)
            if wait > 0:
                return flask.Response(
                    "too many failed logins: try again later\n", 429, {"Retry-After": str(int(wait) + 1)}
                )
            credentials = flask.request.authorization
            if auth.check(credentials):
                throttle.succeeded(address)
                return None
            if credentials is not None:  # a wrong password, not a browser's first anonymous request
                throttle.failed(address, str(credentials.get("username") or ""))
            return flask.Response(
                "authentication required\n",
                401,
                {"WWW-Authenticate": 'Basic realm="ai-trading dashboard", charset="UTF-8"'},
            )

    csp: list[str] = []

    @server.after_request
    def _headers(response: flask.Response) -> flask.Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if csp:
            response.headers.setdefault("Content-Security-Policy", csp[0])
        return response

    # ------------------------------------------------------------------ runs
    view_cache: dict[str, tuple[RunView, dict[str, Any]]] = {}
    catalog_cache: dict[str, Any] = {"at": float("-inf"), "entries": [], "problems": []}

    def view_of(run_id: str) -> tuple[RunView, dict[str, Any]]:
        if run_id not in view_cache:
            # tables as rows once: the grids page through them on every request
            doc = with_rows(run_source.load(run_id))
            view_cache.clear()  # one run at a time in memory
            view_cache[run_id] = (build_view(doc, run_source.decision_prices(run_id)), doc)
        return view_cache[run_id]

    def catalog() -> tuple[list[dict[str, Any]], list[str]]:
        """Live and stored runs, newest start first, and why a source has nothing to offer."""
        now = time.monotonic()
        if now - catalog_cache["at"] < CATALOG_TTL:
            return catalog_cache["entries"], catalog_cache["problems"]
        problems: list[str] = []
        entries: dict[str, dict[str, Any]] = {}
        summaries = getattr(run_source, "summaries", None)
        try:
            stored = (
                summaries()
                if summaries is not None
                else [{"run_id": r} for r in reversed(run_source.run_ids())]
            )
        except AiTradingError as exc:
            stored = []
            problems.append(str(redact(str(exc))))
        problem = getattr(run_source, "problem", None)
        if problem:
            problems.append(str(redact(problem)))
        for s in stored:
            entries[str(s["run_id"])] = {**s, "source": "stored"}
        if feed is not None:
            for meta in feed.runs():
                rid = str(meta["run_id"])
                keep_stored = rid in entries and meta.get("status") not in ("running", "stalled")
                entries[rid] = {**meta, "source": "stored" if keep_stored else "live"}
            if feed.error:
                problems.append(str(redact(feed.error)))
        ordered = sorted(entries.values(), key=lambda e: str(e.get("started_at") or ""), reverse=True)
        catalog_cache.update(at=now, entries=ordered, problems=problems)
        return ordered, problems

    def entry_of(run_id: str | None) -> dict[str, Any] | None:
        if not run_id:
            return None
        return next((e for e in catalog()[0] if e["run_id"] == run_id), None)

    def live_of(run_id: str | None) -> LiveRun | None:
        entry = entry_of(run_id)
        if feed is None or entry is None or entry.get("source") != "live":
            return None
        return feed.run(str(run_id))

    def run_options() -> list[dict[str, str]]:
        return [{"label": _label(e), "value": e["run_id"]} for e in catalog()[0]]

    def serve_layout() -> html.Div:
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
                                options=run_options(),
                                value=None,
                                clearable=False,
                                placeholder="no runs",
                            ),
                            className="run-picker",
                        ),
                        html.Span("…", id="live-badge", className="live-badge"),
                    ],
                    className="topbar",
                ),
                html.Div(id="page", className="page"),
                dcc.Interval(id="tick", interval=refresh_ms, n_intervals=0),
                dcc.Interval(id="runs-tick", interval=max(refresh_ms, 3000), n_intervals=0),
                dcc.Store(id="run-choice", storage_type="local"),
                dcc.Store(id="live-version", data={"run": None, "version": -1}),
                dcc.Store(id="grid-refresh"),
                dcc.Store(id="kill-store"),
                dcc.Store(
                    id="live", data={"seq": 0, "equity": [], "alerts": [], "heartbeats": {}, "fills": 0}
                ),
            ]
        )

    app.layout = serve_layout

    # ------------------------------------------------------------------ run picker
    @app.callback(
        Output("run", "options"),
        Output("run", "value"),
        Input("runs-tick", "n_intervals"),
        State("run", "value"),
        State("run-choice", "data"),
    )
    def pick_run(_: int, current: str | None, remembered: str | None) -> tuple[Any, Any]:
        options = run_options()
        values = [o["value"] for o in options]
        if current in values:
            return options, no_update
        if remembered in values:
            return options, remembered
        return options, values[0] if values else None

    @app.callback(Output("run-choice", "data"), Input("run", "value"), prevent_initial_call=True)
    def remember_run(run_id: str | None) -> Any:
        return run_id if run_id else no_update

    # ------------------------------------------------------------------ pages
    @app.callback(
        Output("page", "children"),
        *[Output(f"nav-{s}", "className") for s, _ in PAGES],
        Input("url", "pathname"),
        Input("run", "value"),
    )
    def render_page(pathname: str | None, run_id: str | None) -> tuple[Any, ...]:
        slug = (pathname or "/").strip("/") or "portfolio"
        classes = tuple("active" if s == slug else "" for s, _ in PAGES)
        entries, problems = catalog()
        if run_id is None:
            if entries:
                return (
                    html.Div(
                        [
                            html.H2("Pick a run"),
                            html.Div("Choose a run in the picker above.", className="note"),
                        ]
                    ),
                    *classes,
                )
            return (
                html.Div(
                    [
                        html.H2("No runs yet", id="empty-state"),
                        html.Div(EMPTY_HELP, className="note"),
                        *[html.Div(p, className="note") for p in problems],
                    ]
                ),
                *classes,
            )
        try:
            page = _page(slug, run_id)
        except AiTradingError as exc:
            page = html.Div([html.H2("Run unavailable"), html.Div(str(redact(str(exc))), className="note")])
        return (page, *classes)

    def _page(slug: str, run_id: str) -> Any:
        entry = entry_of(run_id) or {"run_id": run_id}
        if entry.get("source") == "live":
            live = live_of(run_id)
            meta = {**entry, **(live.meta if live else {})}
            if slug == "portfolio":
                return live_portfolio_page(meta)
            if slug == "positions":
                return positions_page(live_header("Positions (live)", meta), live=True)
            if slug == "orders":
                return orders_page(live_header("Orders (live)", meta), live=True)
            if slug == "fills":
                return fills_page(live_header("Fills (live)", meta), live=True)
            if slug == "risk":
                return live_risk_page(meta, _breaker_states(state_dir))
            if slug == "strategies":
                return live_pending_page("Strategy attribution", meta, "Strategy attribution")
            if slug == "trades":
                return live_pending_page("Trade analytics", meta, "Trade analytics (round trips, slippage)")
            if slug == "system":
                return html.Div(
                    [*live_header("System health (live)", meta), *live_system_panels(), *_kill_switch_panel()]
                )
            return html.Div([html.H2("Not found"), dcc.Link("Portfolio", href="/portfolio")])
        view, doc = view_of(run_id)
        if slug == "risk":
            return risk_page(view, _breaker_states(state_dir))
        if slug == "strategies":
            return strategies_page(view)
        if slug == "trades":
            return trades_page(view)
        if slug == "system":
            return system_page(view, doc, kill_switch_enabled=auth is not None)
        if slug == "portfolio":
            return portfolio_page(view)
        if slug == "positions":
            return positions_page(stored_header("Positions", view), live=False)
        if slug == "orders":
            return orders_page(stored_header("Orders", view), live=False)
        if slug == "fills":
            return fills_page(
                stored_header("Fills", view),
                live=False,
                note=""
                if "fills" in doc
                else "This run document predates stored fills: each row is one filled order at its average fill price.",
            )
        return html.Div([html.H2("Not found"), dcc.Link("Portfolio", href="/portfolio")])

    def _kill_switch_panel() -> list[Any]:
        return [kill_switch_panel(kill_switch_enabled=auth is not None)]

    # ------------------------------------------------------------------ live feed
    @app.callback(
        Output("live-version", "data"),
        Output("live-badge", "children"),
        Output("live-badge", "className"),
        Input("tick", "n_intervals"),
        Input("run", "value"),
        State("live-version", "data"),
    )
    def poll_feed(_: int, run_id: str | None, seen: dict[str, Any] | None) -> tuple[Any, str, str]:
        entry = entry_of(run_id)
        if entry is None:
            return no_update, "no run", "live-badge"
        if entry.get("source") != "live":
            return no_update, "stored run", "live-badge"
        live = live_of(run_id)
        if live is None:
            return no_update, "feed unavailable", "live-badge bad"
        status = live.status
        last = live.steps[-1]["timestamp"][:19].replace("T", " ") if live.steps else "no bar yet"
        badge = f"live: {status} · {len(live.fills)} fill(s) · bar {last}"
        css = "live-badge on" if status == "running" else "live-badge"
        version = {"run": run_id, "version": live.version}
        return (version if version != seen else no_update), badge, css

    app.clientside_callback(  # type: ignore[no-untyped-call]
        ClientsideFunction(namespace="dashboard", function_name="refreshGrids"),
        Output("grid-refresh", "data"),
        Input("live-version", "data"),
        State("url", "pathname"),
        prevent_initial_call=True,
    )

    @app.callback(
        Output("live-kpis", "children"),
        Output("live-equity-graph", "figure"),
        Output("live-drawdown-graph", "figure"),
        Output("live-status", "children"),
        Input("live-version", "data"),
        State("run", "value"),
    )
    def live_portfolio(_: Any, run_id: str | None) -> tuple[Any, ...]:
        live = live_of(run_id)
        if live is None:
            reason = "No live engine connected: pick a running run (the run list marks them ● running)."
            return (
                [],
                f.empty_figure("Equity (live)", reason),
                f.empty_figure("Drawdown (live)", reason),
                reason,
            )
        currency = str(live.meta.get("currency") or "USD")
        step = live.steps[-1] if live.steps else (live.snapshot.get("step") or {})
        initial = f.fmt_float(live.meta.get("initial_cash")) or 0.0
        equity = f.fmt_float(step.get("equity"))
        pnl = equity - initial if equity is not None else None
        ret = pnl / initial if pnl is not None and initial else None
        state = live.risk_state
        kpis = [
            f.card("Equity", format_value(equity, "money") or "–"),
            f.card("Cash", format_value(step.get("cash"), "money") or "–"),
            f.card("P&L", format_value(pnl, "money") or "–", f.tone(pnl)),
            f.card("Return", format_value(ret, "pct") or "–", f.tone(ret)),
            f.card(
                "Drawdown",
                format_value(step.get("drawdown"), "pct") or "–",
                "bad" if (step.get("drawdown") or 0) < 0 else "",
            ),
            html.Div(
                [
                    html.Div("Risk state", className="kpi-label"),
                    html.Div(
                        html.Span(state.upper(), className=f"state {state}", id="live-risk-badge"),
                        className="kpi-value",
                    ),
                ],
                className="kpi",
            ),
            f.card("Open positions", format_value(len(live.snapshot.get("positions") or []), "int")),
            f.card("Fills", format_value(len(live.fills), "int")),
        ]
        status = (
            f"{len(live.steps)} step(s); last bar {step.get('timestamp', '–')}, "
            f"received {step.get('received_at', '–')} (wall clock)"
            if live.steps
            else "Waiting for the first step."
        )
        return kpis, live_equity_figure(live, currency), live_drawdown_figure(live), status

    @app.callback(
        Output("positions-top-graph", "figure"),
        Input("live-version", "data"),
        Input("top-n", "value"),
        Input("symbol-filter", "value"),
        State("run", "value"),
    )
    def positions_top(_: Any, n: int | None, contains: str | None, run_id: str | None) -> Any:
        rows, live = _positions(run_id)
        currency = "USD"
        if live is not None:
            currency = str(live.meta.get("currency") or currency)
        return positions_top_figure(rows, int(n or 10), contains or "", currency, live is not None)

    @app.callback(
        Output("symbol-pnl-graph", "figure"),
        Input("strat-top-n", "value"),
        Input("strat-symbol-filter", "value"),
        State("run", "value"),
        prevent_initial_call=True,
    )
    def symbol_pnl(n: int | None, contains: str | None, run_id: str | None) -> Any:
        if not run_id or entry_of(run_id) is None or live_of(run_id) is not None:
            return no_update
        return symbol_pnl_figure(view_of(run_id)[0], int(n or 10), contains or "")

    def _positions(run_id: str | None) -> tuple[list[dict[str, Any]], LiveRun | None]:
        live = live_of(run_id)
        if live is not None:
            return list(live.snapshot.get("positions") or []), live
        if not run_id or entry_of(run_id) is None:
            return [], None
        return _stored_positions(view_of(run_id)[1]), None

    def _rows(run_id: str | None, table: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
        live = live_of(run_id)
        if live is not None:
            ticks = dict(live.meta.get("ticks") or {})
            if table == "positions":
                return list(live.snapshot.get("positions") or []), ticks
            if table == "open-orders":
                return live.open_orders(), ticks
            if table == "orders":
                return list(live.orders.values()), ticks
            return list(live.fills), ticks
        if not run_id or entry_of(run_id) is None:
            return [], {}
        doc = view_of(run_id)[1]
        ticks = {
            s: str(i.get("tick_size"))
            for s, i in (doc.get("instruments") or {}).items()
            if isinstance(i, dict)
        }
        if table == "positions":
            return _stored_positions(doc), ticks
        orders = table_rows(doc, "orders")
        if table == "open-orders":
            closed = {"filled", "cancelled", "rejected", "expired"}
            return [o for o in orders if o.get("status") not in closed], ticks
        if table == "orders":
            return orders, ticks
        return _stored_fills(doc), ticks

    for grid_id, table, columns in (
        ("positions-grid", "positions", POSITION_COLUMNS),
        ("open-orders-grid", "open-orders", ORDER_COLUMNS),
        ("orders-grid", "orders", ORDER_COLUMNS),
        ("fills-grid", "fills", FILL_COLUMNS),
    ):

        def answer(
            request: dict[str, Any] | None, run_id: str | None, _t: str = table, _c: Any = columns
        ) -> Any:
            rows, ticks = _rows(run_id, _t)
            return redact(query_rows(rows, _c, request, ticks))

        app.callback(
            Output(grid_id, "getRowsResponse"), Input(grid_id, "getRowsRequest"), State("run", "value")
        )(answer)

    @app.callback(Output("fills-count", "children"), Input("live-version", "data"), Input("run", "value"))
    def fills_count(_: Any, run_id: str | None) -> str:
        rows, _ticks = _rows(run_id, "fills")
        return f"{len(rows):,d} fill(s); filter and sort in the column headers (done on the server)."

    @app.callback(Output("orders-count", "children"), Input("live-version", "data"), Input("run", "value"))
    def orders_count(_: Any, run_id: str | None) -> str:
        rows, _ticks = _rows(run_id, "orders")
        return f"{len(rows):,d} order(s); filter and sort in the column headers (done on the server)."

    @app.callback(
        Output("live-risk-state", "children"),
        Output("live-risk-state", "className"),
        Output("live-risk-events", "children"),
        Input("live-version", "data"),
        State("run", "value"),
    )
    def live_risk(_: Any, run_id: str | None) -> tuple[Any, ...]:
        live = live_of(run_id)
        if live is None:
            return no_update, no_update, no_update
        state = live.risk_state
        rows = [
            [
                e.get("timestamp"),
                e.get("source"),
                e.get("previous_state"),
                e.get("state"),
                e.get("reason"),
                f.fmt(e.get("measured")),
                f.fmt(e.get("limit")),
            ]
            for e in reversed(live.risk_events)
        ]
        events_view = (
            f.table(["time", "source", "from", "to", "reason", "measured", "limit"], rows, "risk-events")
            if rows
            else html.Div("The risk state has stayed ACTIVE so far.", className="note")
        )
        return state.upper(), f"state {state}", events_view

    # ------------------------------------------------------------------ in-process events
    @app.callback(Output("live", "data"), Input("tick", "n_intervals"), State("live", "data"))
    def poll_live(_: int, data: dict[str, Any]) -> Any:
        new = events.since(int(data.get("seq", 0)))
        if not new:
            return no_update
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
        return data

    @app.callback(
        Output("alerts-live", "children"),
        Output("heartbeats-live", "children"),
        Input("live", "data"),
        Input("live-version", "data"),
        State("run", "value"),
    )
    def live_system(data: dict[str, Any], _: Any, run_id: str | None) -> tuple[Any, Any]:
        alerts = list(data.get("alerts", []))
        live = live_of(run_id)
        if live is not None:
            alerts = [*live.alerts, *alerts]
        alerts.sort(key=lambda a: str(a.get("timestamp") or ""))
        rows = [
            [a.get("timestamp"), str(a.get("severity", "")).upper(), a.get("source"), a.get("message")]
            for a in reversed(redact(alerts[-100:]))
        ]
        beats = [[k, v] for k, v in sorted(data.get("heartbeats", {}).items())]
        status: list[Any] = []
        if live is not None and feed is not None:
            st = feed.feed_status(live)
            age = st["age_seconds"]
            broker_age = st["broker_age_seconds"]
            status.append(
                f.table(
                    ["", "state", "detail"],
                    [
                        [
                            "run",
                            live.status.upper(),
                            f"heartbeat {'present' if live.status == 'running' else 'absent'}",
                        ],
                        [
                            "data feed",
                            st["state"].upper(),
                            f"last bar {st['last_bar'] or '–'}, received {_ago(age)}",
                        ],
                        [
                            "broker",
                            _broker_state(live.status, st["open_orders"], broker_age, feed.stale_after),
                            f"last order update or fill {_ago(broker_age)}; {st['open_orders'] or 0} open order(s)",
                        ],
                        ["redis", "ERROR" if feed.error else "OK", feed.error or feed.url.split("@")[-1]],
                    ],
                    "feed-status",
                )
            )
        if beats:
            status.append(f.table(["process", "last heartbeat"], beats))
        return (
            f.table(["time", "severity", "source", "message"], rows, "alerts-table")
            if rows
            else "No alerts received.",
            status or "No live engine connected: no heartbeats received.",
        )

    # ------------------------------------------------------------------ kill switch
    @app.callback(
        Output("kill-confirm", "displayed"), Input("kill-button", "n_clicks"), prevent_initial_call=True
    )
    def ask_kill(n: int) -> bool:
        return bool(n)

    @app.callback(
        Output("kill-result", "children"),
        Output("kill-store", "data"),
        Input("kill-confirm", "submit_n_clicks"),
        prevent_initial_call=True,
    )
    def do_kill(submitted: int | None) -> Any:
        if not submitted:
            return no_update, no_update
        # Checked again here, not only by the request hook: the kill switch is never anonymous.
        if auth is None or not auth.check(flask.request.authorization):
            return "Refused: the kill switch needs an authenticated dashboard.", no_update
        user = flask.request.authorization.get("username") if flask.request.authorization else "?"
        now = clock.now()
        path = request_halt(
            state_dir,
            requested_by=f"dashboard:{user}",
            reason="kill switch pressed on the dashboard",
            now=now,
        )
        logger.bind(security_event="kill_switch").warning(
            "kill switch: halt requested from the dashboard by {}", user
        )
        events.push(
            "alert",
            {
                "severity": "critical",
                "source": "dashboard",
                "message": "kill switch: halt requested",
                "timestamp": now.isoformat(),
            },
        )
        return f"Halt requested at {now.isoformat()} ({path.name}).", {"requested_at": now.isoformat()}

    @app.callback(
        Output("kill-ack", "children"),
        Input("kill-store", "data"),
        Input("live-version", "data"),
        Input("tick", "n_intervals"),
    )
    def kill_ack(requested: dict[str, Any] | None, _: Any, __: int) -> Any:
        if not requested:
            return no_update
        running = [
            e for e in catalog()[0] if e.get("source") == "live" and e.get("status") in ("running", "stalled")
        ]
        if feed is None or not running:
            return (
                "Not acknowledged: no running engine reports to this dashboard (start it with --redis). "
                "A trading process under this state directory halts when it next checks the kill switch."
            )
        acked: list[str] = []
        waiting: list[str] = []
        for entry in running:
            live = feed.run(str(entry["run_id"]))
            name = entry.get("name") or entry["run_id"]
            (acked if live.risk_state == "halted" else waiting).append(str(name))
        parts = []
        if acked:
            parts.append(f"Acknowledged: HALTED reported by {', '.join(acked)}.")
        if waiting:
            parts.append(f"Waiting for {', '.join(waiting)} to acknowledge (still trading).")
        return " ".join(parts)

    csp.append(content_security_policy(app.csp_hashes()))
    return app
