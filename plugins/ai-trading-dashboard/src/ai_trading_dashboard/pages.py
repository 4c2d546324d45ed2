"""The five pages, each a function of a :class:`RunView` (plus live state for the system
page). Everything shown passes through :func:`redact` first where it could hold a secret."""

from __future__ import annotations

import json
from typing import Any

from dash import dcc, html

from . import figures as f
from .redact import redact
from .views import RunView

PAGES = (
    ("portfolio", "Portfolio"),
    ("positions", "Positions"),
    ("orders", "Orders"),
    ("fills", "Fills"),
    ("risk", "Risk"),
    ("strategies", "Strategies"),
    ("trades", "Trades"),
    ("system", "System"),
)


def _graph(graph_id: str, fig: Any) -> html.Div:
    return html.Div(
        dcc.Graph(id=graph_id, figure=fig, config=f.GRAPH_CONFIG),
        className="panel",
    )


def header(title: str, view: RunView) -> list[Any]:
    span = f"{view.dates[0][:10]} → {view.dates[-1][:10]}" if view.dates else "no bars"
    return [
        html.H2(title),
        html.Div(
            f"Run {view.name or view.run_id} · {view.mode} · {span} · {len(view.symbols)} symbol(s)",
            className="subtitle",
        ),
    ]


def portfolio_page(view: RunView) -> html.Div:
    m = view.metrics
    final = float(view.equity[-1]) if len(view.equity) else view.initial_cash
    pnl = final - view.initial_cash
    return html.Div(
        [
            *header("Portfolio", view),
            html.Div(
                [
                    f.card("Equity", f.fmt(final, "money")),
                    f.card("P&L", f.fmt(pnl, "money"), f.tone(pnl)),
                    f.card(
                        "Total return", f.fmt(m.get("total_return"), "pct"), f.tone(m.get("total_return"))
                    ),
                    f.card("CAGR", f.fmt(m.get("cagr"), "pct"), f.tone(m.get("cagr"))),
                    f.card("Sharpe", f.fmt(m.get("sharpe")), f.tone(m.get("sharpe"))),
                    f.card("Sortino", f.fmt(m.get("sortino")), f.tone(m.get("sortino"))),
                    f.card(
                        "Max drawdown",
                        f.fmt(m.get("max_drawdown"), "pct"),
                        "bad" if m.get("max_drawdown") else "",
                    ),
                    f.card("Volatility", f.fmt(m.get("volatility"), "pct")),
                ],
                className="kpis",
            ),
            _graph("equity-graph", f.equity_figure(view)),
            html.Div(
                [_graph("pnl-graph", f.pnl_figure(view)), _graph("drawdown-graph", f.drawdown_figure(view))],
                className="grid2",
            ),
        ]
    )


def risk_page(view: RunView, breaker_states: list[dict[str, Any]]) -> html.Div:
    m = view.metrics
    state = view.risk_state
    events = [
        [
            e.get("timestamp"),
            e.get("source"),
            e.get("previous_state"),
            e.get("state"),
            e.get("reason"),
            f.fmt(e.get("measured")),
            f.fmt(e.get("limit")),
        ]
        for e in view.risk_events
    ]
    limits = [
        [r["check"], f.fmt(r["measured"]), f.fmt(r["limit"]), f.fmt(r["utilisation"], "pct"), r["time"]]
        for r in view.limits
    ]
    breakers = [[b.get("id"), b.get("state"), b.get("reason"), b.get("since")] for b in breaker_states]
    return html.Div(
        [
            *header("Risk", view),
            html.Div(
                [
                    html.Div(
                        [
                            html.Div("Risk state", className="kpi-label"),
                            html.Div(
                                html.Span(state.upper(), className=f"state {state}", id="risk-state"),
                                className="kpi-value",
                            ),
                        ],
                        className="kpi",
                    ),
                    f.card("VaR 95% (hist.)", f.fmt(m.get("var_95_historical"), "pct"), "bad"),
                    f.card("VaR 99% (hist.)", f.fmt(m.get("var_99_historical"), "pct"), "bad"),
                    f.card("CVaR 95%", f.fmt(m.get("cvar_95"), "pct"), "bad"),
                    f.card("Gross exposure", f.fmt(m.get("exposure"), "pct")),
                    f.card("Net exposure", f.fmt(m.get("net_exposure"), "pct")),
                    f.card(
                        "Leverage (avg)", f"{m['exposure']:.2f}×" if m.get("exposure") is not None else "–"
                    ),
                    f.card("Time in market", f.fmt(m.get("time_in_market"), "pct")),
                ],
                className="kpis",
            ),
            html.Div(
                [
                    _graph("var-graph", f.returns_histogram(view)),
                    _graph("limits-graph", f.limits_figure(view)),
                ],
                className="grid2",
            ),
            html.Div(
                [
                    html.H3("Limit utilisation"),
                    f.table(["check", "measured", "limit", "utilisation", "at"], limits)
                    if limits
                    else html.Div("No limit measurements in this run.", className="note"),
                ],
                className="panel",
            ),
            html.Div(
                [
                    html.H3("Risk state changes"),
                    f.table(
                        ["time", "source", "from", "to", "reason", "measured", "limit"], events, "risk-events"
                    )
                    if events
                    else html.Div("The risk state stayed ACTIVE for the whole run.", className="note"),
                ],
                className="panel",
            ),
            html.Div(
                [
                    html.H3("Circuit breakers (persisted state)"),
                    f.table(["breaker", "state", "reason", "since"], breakers)
                    if breakers
                    else html.Div(
                        "No persisted circuit-breaker state in the state directory.", className="note"
                    ),
                ],
                className="panel",
            ),
        ]
    )


def strategies_page(view: RunView) -> html.Div:
    attr = view.attribution
    by_strategy = attr.get("by_strategy", {})
    rows = [
        [
            k,
            f.fmt(v.get("pnl"), "money"),
            f.fmt(v.get("return_contribution"), "pct"),
            v.get("trades"),
            f.fmt(v.get("win_rate"), "pct"),
            f.fmt(v.get("sharpe")),
        ]
        for k, v in by_strategy.items()
    ]
    members = [
        [ens, mem, f.fmt(v.get("pnl"), "money"), f.fmt(v.get("return_contribution"), "pct"), v.get("trades")]
        for ens, table in attr.get("ensemble_members", {}).items()
        for mem, v in table.items()
    ]
    return html.Div(
        [
            *header("Strategy attribution", view),
            html.Div(
                [
                    _graph(
                        "strategy-pnl-graph",
                        f.bar_figure(
                            list(by_strategy),
                            [float(v.get("pnl") or 0) for v in by_strategy.values()],
                            f"P&L by strategy ({view.currency})",
                            "strategy pnl",
                        ),
                    ),
                    html.Div(
                        [
                            html.Div(
                                [
                                    html.Label(
                                        ["Top/bottom N ", dcc.Input(id="strat-top-n", type="number", min=1,
                                                                    max=100, value=10, debounce=True)]
                                    ),
                                    html.Label(
                                        ["Symbol filter ", dcc.Input(id="strat-symbol-filter", type="text",
                                                                     value="", debounce=True)]
                                    ),
                                ],
                                className="controls",
                            ),
                            dcc.Graph(
                                id="symbol-pnl-graph",
                                figure=symbol_pnl_figure(view, 10, ""),
                                config=f.GRAPH_CONFIG,
                            ),
                        ],
                        className="panel",
                    ),
                ],
                className="grid2",
            ),
            html.Div(
                [
                    html.H3("By strategy"),
                    f.table(
                        ["strategy", "P&L", "return contribution", "trades", "win rate", "Sharpe"],
                        rows,
                        "strategy-table",
                    ),
                ],
                className="panel",
            ),
            html.Div(
                [
                    html.H3("Ensemble members"),
                    f.table(["ensemble", "member", "P&L", "contribution", "trades"], members),
                ],
                className="panel",
            )
            if members
            else html.Div(),
            html.Div(
                f"Unattributed (open positions): {f.fmt(attr.get('unattributed_pnl'), 'money')}",
                className="note",
            )
            if "unattributed_pnl" in attr
            else html.Div(),
            _execution_panel(view),
        ]
    )


def symbol_pnl_figure(view: RunView, n: int, contains: str) -> Any:
    """P&L by symbol: the ``n`` best and ``n`` worst (of those matching ``contains``), not one
    bar per symbol of a 500-symbol universe."""
    by_symbol = view.attribution.get("by_symbol", {})
    title = f"P&L by symbol ({view.currency})"
    if not by_symbol:
        return f.bar_figure([], [], title, "symbol pnl")
    labels, values, matched = f.top_bottom(
        list(by_symbol), [float(v.get("pnl") or 0) for v in by_symbol.values()], n, contains
    )
    if not labels:
        return f.empty_figure(title, f"No symbol matches {contains!r}.", 300)
    shown = f"top/bottom {n} of {matched}" if matched > 2 * n else f"all {matched}"
    return f.bar_figure(labels, values, f"{title}: {shown}", "symbol pnl")


def _execution_panel(view: RunView) -> html.Div:
    """Implementation shortfall (against the decision close) and slippage (against the
    arrival open) per strategy and venue, when the run's broker reported its execution."""
    ex = view.execution
    if not ex.get("by_strategy") and not ex.get("by_venue"):
        return html.Div()
    columns = ["", "orders", "notional", f"shortfall ({view.currency})", "shortfall (bps)", "slippage (bps)",
               "commission"]

    def rows(table: dict[str, Any]) -> list[list[Any]]:
        return [
            [k, v.get("orders"), f.fmt(v.get("notional"), "money"), f.fmt(v.get("shortfall"), "money"),
             f.fmt(v.get("shortfall_bps")), f.fmt(v.get("slippage_bps")), f.fmt(v.get("commission"), "money")]
            for k, v in table.items()
        ]

    return html.Div(
        [
            html.H3(f"Execution costs ({ex.get('algorithm', 'broker')})"),
            f.table(["strategy", *columns[1:]], rows(ex.get("by_strategy", {})), "execution-strategy-table"),
            f.table(["venue", *columns[1:]], rows(ex.get("by_venue", {})), "execution-venue-table"),
        ],
        className="panel",
    )


def trades_page(view: RunView) -> html.Div:
    s = view.trade_stats
    recent = list(reversed(view.trades))[:200]
    rows = [
        [
            t["symbol"],
            t["side"],
            t["quantity"],
            t["entry_time"][:10],
            t["entry_price"],
            (t.get("exit_time") or "")[:10],
            t.get("exit_price") or "open",
            f.fmt(float(t["pnl"]), "money"),
            t.get("strategy_id"),
        ]
        for t in recent
    ]
    slip = view.mean_slippage_bps
    return html.Div(
        [
            *header("Trade analytics", view),
            html.Div(
                [
                    f.card("Closed trades", f.fmt(s.get("trades"), "int")),
                    f.card("Win rate", f.fmt(s.get("win_rate"), "pct")),
                    f.card("Profit factor", f.fmt(s.get("profit_factor"))),
                    f.card("Expectancy", f.fmt(s.get("expectancy"), "money"), f.tone(s.get("expectancy"))),
                    f.card("Avg win", f.fmt(s.get("average_win"), "money"), "good"),
                    f.card("Avg loss", f.fmt(s.get("average_loss"), "money"), "bad"),
                    f.card("Payoff ratio", f.fmt(s.get("payoff_ratio"))),
                    f.card("Avg slippage (bps)", f.fmt(slip)),
                ],
                className="kpis",
            ),
            html.Div(
                [
                    _graph("trade-pnl-graph", f.trade_pnl_figure(view)),
                    _graph("slippage-graph", f.slippage_figure(view)),
                ],
                className="grid2",
            ),
            html.Div(
                "Slippage needs the audit trail (runs read from the database); it compares each fill "
                "with the close at decision time.",
                className="note",
            )
            if slip is None
            else html.Div(),
            html.Div(
                [
                    html.H3(f"Trades (latest {len(rows)} of {len(view.trades)})"),
                    f.table(
                        ["symbol", "side", "qty", "entry", "entry px", "exit", "exit px", "P&L", "strategy"],
                        rows,
                        "trades-table",
                    ),
                ],
                className="panel",
            ),
        ]
    )


def system_page(view: RunView, doc: dict[str, Any], *, kill_switch_enabled: bool) -> html.Div:
    plugins = [[p.get("name"), p.get("distribution"), p.get("version")] for p in view.plugins]
    config_text = json.dumps(redact(doc.get("config") or {}), indent=2, sort_keys=True)
    return html.Div(
        [
            *header("System health", view),
            html.Div(
                [
                    html.Div(
                        [html.H3("Alerts (live)"), html.Div(id="alerts-live", className="note")],
                        className="panel",
                    ),
                    html.Div(
                        [
                            html.H3("Heartbeats and live feed"),
                            html.Div(id="heartbeats-live", className="note"),
                        ],
                        className="panel",
                    ),
                ],
                className="grid2",
            ),
            html.Div(
                [
                    html.H3("Plugins of this run"),
                    f.table(["entry point", "distribution", "version"], plugins, "plugins-table"),
                ],
                className="panel",
            ),
            kill_switch_panel(kill_switch_enabled=kill_switch_enabled),
            html.Div(
                [html.H3("Run configuration (secrets redacted)"), html.Pre(config_text, className="config")],
                className="panel",
            ),
        ]
    )


def kill_switch_panel(*, kill_switch_enabled: bool) -> html.Div:
    """The kill switch: confirmed, authenticated, and followed by whether the running
    engines acknowledged the halt (reported HALTED through the live feed)."""
    return html.Div(
        [
            html.H3("Kill switch"),
            html.Div(
                "Writes a halt request for the trading process: no new orders, open orders "
                "cancelled. Re-arming is explicit.",
                className="note",
            ),
            html.Button(
                "HALT TRADING",
                id="kill-button",
                className="kill",
                disabled=not kill_switch_enabled,
                n_clicks=0,
            ),
            html.Div(
                "Needs an authenticated dashboard (configure a user and password hash)."
                if not kill_switch_enabled
                else "",
                className="note",
            ),
            dcc.ConfirmDialog(
                id="kill-confirm",
                message="Halt trading now? Every open order is cancelled and no new "
                "order is sent until the risk state is re-armed.",
            ),
            html.Div(id="kill-result", className="note"),
            html.Div(id="kill-ack", className="note"),
        ],
        className="panel",
    )
