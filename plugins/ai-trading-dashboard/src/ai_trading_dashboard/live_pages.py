"""Pages of a running account (from the live feed) and the grid pages shared with stored
runs: positions, orders, fills. The page functions build the static frame; the app's
callbacks fill the parts that change (KPIs, charts, grids, alerts, status) as the feed moves."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]
from dash import dcc, html

from . import figures as f
from .feed import LiveRun
from .grids import FILL_COLUMNS, ORDER_COLUMNS, POSITION_COLUMNS, format_value, server_grid

MAX_CHART_POINTS = 3000


def graph(graph_id: str, fig: Any = None) -> html.Div:
    return html.Div(dcc.Graph(id=graph_id, figure=fig or {}, config=f.GRAPH_CONFIG), className="panel")


def live_header(title: str, meta: dict[str, Any]) -> list[Any]:
    status = str(meta.get("status") or "unknown")
    started = format_value(meta.get("started_at"), "time")[:19]
    return [
        html.H2(title),
        html.Div(
            [
                f"Run {meta.get('name') or meta.get('run_id')} · {meta.get('mode', '?')} · started {started} · ",
                html.Span(status.upper(), className=f"run-status {status}", id="run-status"),
                f" · {len(meta.get('symbols') or [])} symbol(s)",
            ],
            className="subtitle",
        ),
    ]


def live_portfolio_page(meta: dict[str, Any]) -> html.Div:
    return html.Div(
        [
            *live_header("Portfolio (live)", meta),
            html.Div(id="live-kpis", className="kpis"),
            graph("live-equity-graph"),
            graph("live-drawdown-graph"),
            html.Div(id="live-status", className="note"),
        ]
    )


def positions_page(title: list[Any], *, live: bool) -> html.Div:
    return html.Div(
        [
            *title,
            html.Div(
                [
                    html.Label(
                        [
                            "Top/bottom N ",
                            dcc.Input(id="top-n", type="number", min=1, max=100, value=10, debounce=True),
                        ]
                    ),
                    html.Label(
                        [
                            "Symbol filter ",
                            dcc.Input(
                                id="symbol-filter",
                                type="text",
                                value="",
                                debounce=True,
                                placeholder="e.g. SYN0",
                            ),
                        ]
                    ),
                ],
                className="controls",
            ),
            graph("positions-top-graph"),
            html.Div(
                [
                    html.H3("Positions" + (" (live)" if live else " at the end of the run")),
                    server_grid("positions-grid", POSITION_COLUMNS, 440),
                ],
                className="panel",
            ),
        ]
    )


def orders_page(title: list[Any], *, live: bool) -> html.Div:
    return html.Div(
        [
            *title,
            html.Div(
                [html.H3("Open orders"), server_grid("open-orders-grid", ORDER_COLUMNS, 260)],
                className="panel",
            ),
            html.Div(
                [
                    html.H3("All orders" + (" (live)" if live else "")),
                    html.Div(id="orders-count", className="note"),
                    server_grid("orders-grid", ORDER_COLUMNS),
                ],
                className="panel",
            ),
        ]
    )


def fills_page(title: list[Any], *, live: bool, note: str = "") -> html.Div:
    return html.Div(
        [
            *title,
            html.Div(note, className="note") if note else html.Div(),
            html.Div(
                [
                    html.H3("Fills" + (" (live)" if live else "")),
                    html.Div(id="fills-count", className="note"),
                    server_grid("fills-grid", FILL_COLUMNS),
                ],
                className="panel",
            ),
        ]
    )


def live_risk_page(meta: dict[str, Any], breakers: list[dict[str, Any]]) -> html.Div:
    rows = [[b.get("id"), b.get("state"), b.get("reason"), b.get("since")] for b in breakers]
    return html.Div(
        [
            *live_header("Risk (live)", meta),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div("Risk state", className="kpi-label"),
                            html.Div(
                                html.Span("…", id="live-risk-state", className="state"), className="kpi-value"
                            ),
                        ],
                        className="kpi",
                    ),
                    html.Div(id="live-risk-kpis", className="kpis-inline"),
                ],
                className="kpis",
            ),
            html.Div([html.H3("Risk state changes"), html.Div(id="live-risk-events")], className="panel"),
            html.Div(
                [
                    html.H3("Circuit breakers (persisted state)"),
                    f.table(["breaker", "state", "reason", "since"], rows)
                    if rows
                    else html.Div(
                        "No persisted circuit-breaker state in the state directory.", className="note"
                    ),
                ],
                className="panel",
            ),
        ]
    )


def live_pending_page(title: str, meta: dict[str, Any], what: str) -> html.Div:
    return html.Div(
        [
            *live_header(title, meta),
            html.Div(
                f"{what} is computed from the finished run document: it appears here when the run ends "
                "and is stored. Positions, orders, fills, equity and risk are live on their pages.",
                className="note",
            ),
        ]
    )


def live_system_panels() -> list[Any]:
    return [
        html.Div(
            [
                html.Div(
                    [html.H3("Alerts (live)"), html.Div(id="alerts-live", className="note")],
                    className="panel",
                ),
                html.Div(
                    [
                        html.H3("Data feed, broker and heartbeats"),
                        html.Div(id="heartbeats-live", className="note"),
                    ],
                    className="panel",
                ),
            ],
            className="grid2",
        )
    ]


# ---------------------------------------------------------------------- figures
def _thin(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(steps) <= MAX_CHART_POINTS:
        return steps
    stride = -(-len(steps) // MAX_CHART_POINTS)
    return [*steps[:-1:stride], steps[-1]]


def live_equity_figure(live: LiveRun, currency: str) -> go.Figure:
    steps = _thin(live.steps)
    if not steps:
        reason = (
            "The run is registered but has not completed a step yet."
            if live.status == "running"
            else f"No steps were published for this run (status: {live.status})."
        )
        return f.empty_figure(f"Equity ({currency}, live)", reason, 320)
    fig = go.Figure(
        go.Scatter(
            x=[s["timestamp"] for s in steps],
            y=[s["equity"] for s in steps],
            mode="lines",
            name="live equity",
            line={"color": f.ACCENT, "width": 2},
        )
    )
    initial = f.fmt_float(live.meta.get("initial_cash"))
    if initial is not None:
        fig.add_hline(y=initial, line={"color": f.MUTED, "dash": "dot", "width": 1})
    fig = f.layout(fig, f"Equity ({currency}, live)", ",.2f")
    fig.update_layout(uirevision=live.run_id)
    return fig


def live_drawdown_figure(live: LiveRun) -> go.Figure:
    steps = _thin(live.steps)
    if not steps:
        return f.empty_figure(
            "Drawdown (live)", "No steps yet: drawdown is measured from the first equity point."
        )
    fig = go.Figure(
        go.Scatter(
            x=[s["timestamp"] for s in steps],
            y=[s.get("drawdown", 0.0) for s in steps],
            mode="lines",
            fill="tozeroy",
            name="drawdown",
            line={"color": f.BAD, "width": 1.5},
        )
    )
    fig = f.layout(fig, "Drawdown (live)", ".2%", height=240)
    fig.update_layout(uirevision=live.run_id)
    return fig


def positions_top_figure(
    positions: list[dict[str, Any]], n: int, contains: str, currency: str, live: bool
) -> go.Figure:
    title = f"Unrealised P&L by symbol ({currency})" if live else f"Position value by symbol ({currency})"
    key = "unrealised_pnl" if live else "market_value"
    rows = [p for p in positions if p.get(key) is not None]
    if not positions:
        return f.empty_figure(title, "No open positions.")
    if not rows:
        return f.empty_figure(title, "No prices for the open positions yet.")
    labels, values, matched = f.top_bottom(
        [p["symbol"] for p in rows], [float(p[key]) for p in rows], n, contains
    )
    if not labels:
        return f.empty_figure(title, f"No symbol matches {contains!r}.")
    shown = f"top/bottom {n} of {matched}" if matched > 2 * n else f"all {matched}"
    return f.bar_figure(labels, values, f"{title}: {shown}", "symbol value", ",.2f")
