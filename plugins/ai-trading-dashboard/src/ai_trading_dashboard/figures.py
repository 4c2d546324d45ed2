"""Plotly figures and small HTML building blocks of the pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go  # type: ignore[import-untyped]
from dash import html

from .views import RunView

ACCENT, GOOD, BAD, MUTED = "#2563eb", "#059669", "#dc2626", "#64748b"

GRAPH_CONFIG: Any = {
    # no "share to plotly cloud", no "edit in chart studio" link, no logo: nothing leaves the page
    "displaylogo": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["sendDataToCloud"],
}


def empty_figure(title: str, reason: str, height: int = 260) -> go.Figure:
    """A chart with nothing to draw says why instead of showing bare axes."""
    fig = go.Figure()
    fig.add_annotation(
        text=reason, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
        font={"size": 13, "color": MUTED},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig = layout(fig, title, height=height)
    fig.update_layout(meta={"empty": reason})
    return fig


def top_bottom(
    labels: Sequence[str], values: Sequence[float], n: int = 10, contains: str = ""
) -> tuple[list[str], list[float], int]:
    """The ``n`` largest and ``n`` smallest values (labels filtered by ``contains``, case
    insensitive), largest first; and how many labels matched the filter."""
    needle = contains.strip().lower()
    pairs = [(str(k), float(v)) for k, v in zip(labels, values, strict=True) if needle in str(k).lower()]
    pairs.sort(key=lambda kv: kv[1], reverse=True)
    n = max(1, int(n))
    chosen = pairs if len(pairs) <= 2 * n else pairs[:n] + pairs[-n:]
    return [k for k, _ in chosen], [v for _, v in chosen], len(pairs)


def layout(fig: go.Figure, title: str, yformat: str | None = None, height: int = 320) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 15}},
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 48, "b": 40},
        hovermode="x unified",
        showlegend=False,
        font={"family": "Inter, Segoe UI, Helvetica, Arial, sans-serif", "size": 12},
    )
    if yformat:
        fig.update_yaxes(tickformat=yformat)
    return fig


def equity_figure(view: RunView) -> go.Figure:
    if not view.dates:
        return empty_figure(f"Equity ({view.currency})", "The run has no bars: nothing to chart.", 320)
    fig = go.Figure(
        go.Scatter(
            x=view.dates,
            y=view.equity.tolist(),
            name="equity",
            mode="lines",
            line={"color": ACCENT, "width": 2},
        )
    )
    fig.add_hline(y=view.initial_cash, line={"color": MUTED, "dash": "dot", "width": 1})
    return layout(fig, f"Equity ({view.currency})", ",.0f")


def pnl_figure(view: RunView) -> go.Figure:
    if not view.dates:
        return empty_figure(f"Cumulative P&L ({view.currency})", "The run has no bars.")
    pnl = view.pnl.tolist()
    fig = go.Figure(
        go.Scatter(
            x=view.dates,
            y=pnl,
            name="pnl",
            mode="lines",
            fill="tozeroy",
            line={"color": GOOD if (pnl[-1] if pnl else 0) >= 0 else BAD, "width": 1.5},
        )
    )
    return layout(fig, f"Cumulative P&L ({view.currency})", ",.0f", height=260)


def drawdown_figure(view: RunView) -> go.Figure:
    if not view.dates:
        return empty_figure("Drawdown", "The run has no bars.")
    fig = go.Figure(
        go.Scatter(
            x=view.dates,
            y=view.drawdown.tolist(),
            name="drawdown",
            mode="lines",
            fill="tozeroy",
            line={"color": BAD, "width": 1.5},
        )
    )
    return layout(fig, "Drawdown", ".1%", height=260)


def returns_histogram(view: RunView) -> go.Figure:
    if len(view.returns) == 0:
        return empty_figure("Distribution of bar returns", "Fewer than two bars: no returns yet.", 300)
    fig = go.Figure(
        go.Histogram(x=view.returns.tolist(), nbinsx=60, name="returns", marker={"color": ACCENT})
    )
    for key, label in (("var_95_historical", "VaR 95%"), ("var_99_historical", "VaR 99%")):
        value = view.metrics.get(key)
        if value is not None:
            fig.add_vline(x=value, line={"color": BAD, "dash": "dash"}, annotation_text=label)
    fig.update_xaxes(tickformat=".1%")
    return layout(fig, "Distribution of bar returns", height=300)


def limits_figure(view: RunView) -> go.Figure:
    if not view.limits:
        return empty_figure(
            "Limit utilisation", "No risk check reported a measured value against a limit in this run."
        )
    names = [r["check"] for r in view.limits]
    values = [r["utilisation"] for r in view.limits]
    colors = [BAD if v >= 1 else ("#d97706" if v >= 0.8 else GOOD) for v in values]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", name="utilisation", marker={"color": colors}))
    fig.add_vline(x=1.0, line={"color": BAD, "dash": "dash"})
    fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    return layout(fig, "Limit utilisation (latest measured / limit)", height=260)


def bar_figure(
    labels: Sequence[str], values: Sequence[float], title: str, name: str, yformat: str = ",.0f"
) -> go.Figure:
    if not labels:
        return empty_figure(title, "Nothing to show: no P&L was attributed yet.", 300)
    colors = [GOOD if v >= 0 else BAD for v in values]
    fig = go.Figure(go.Bar(x=list(labels), y=list(values), name=name, marker={"color": colors}))
    return layout(fig, title, yformat, height=300)


def trade_pnl_figure(view: RunView) -> go.Figure:
    pnls = [float(t["pnl"]) for t in view.trades if not t.get("is_open")]
    if not pnls:
        return empty_figure(f"Closed trade P&L ({view.currency})", "No closed trades in this run.", 300)
    fig = go.Figure(go.Histogram(x=pnls, nbinsx=30, name="trade pnl", marker={"color": ACCENT}))
    return layout(fig, f"Closed trade P&L ({view.currency})", height=300)


def slippage_figure(view: RunView) -> go.Figure:
    rows = view.slippage_bps
    if not rows:
        return empty_figure(
            "Slippage per order vs decision close (bps, + = cost)",
            "No filled orders with a decision price (slippage needs the audit trail).",
            300,
        )
    fig = go.Figure(
        go.Scatter(
            x=[r["time"] for r in rows],
            y=[r["slippage_bps"] for r in rows],
            mode="markers",
            name="slippage",
            marker={"color": [ACCENT if r["side"] == "buy" else "#7c3aed" for r in rows], "size": 7},
            text=[f"{r['symbol']} {r['side']}" for r in rows],
        )
    )
    fig.add_hline(y=0, line={"color": MUTED, "width": 1})
    return layout(fig, "Slippage per order vs decision close (bps, + = cost)", height=300)


def live_equity_figure(points: list[dict[str, Any]]) -> go.Figure:
    if not points:
        return empty_figure(
            "Live equity (running engine)",
            "No live engine connected: equity updates appear here while a run publishes events.",
            240,
        )
    fig = go.Figure(
        go.Scatter(
            x=[p["timestamp"] for p in points],
            y=[p["equity"] for p in points],
            mode="lines+markers",
            name="live equity",
            line={"color": GOOD},
        )
    )
    return layout(fig, "Live equity (running engine)", ",.0f", height=240)


def fmt(value: Any, kind: str = "num") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "price":
        return f"{value:,.2f}"
    if kind == "int":
        return f"{int(value):,d}"
    return f"{value:.2f}"


def card(label: str, value: str, tone: str = "") -> html.Div:
    return html.Div(
        [html.Div(label, className="kpi-label"), html.Div(value, className=f"kpi-value {tone}")],
        className="kpi",
    )


def tone(value: float | None) -> str:
    if value is None:
        return ""
    return "good" if value > 0 else ("bad" if value < 0 else "")


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], table_id: str | None = None) -> html.Table:
    head = html.Thead(html.Tr([html.Th(c) for c in columns]))
    body = html.Tbody([html.Tr([html.Td("" if v is None else str(v)) for v in row]) for row in rows])
    out = html.Table([head, body], className="data-table")
    if table_id:
        out.id = table_id  # type: ignore[attr-defined]
    return out


def fmt_float(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing or not a number."""
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
