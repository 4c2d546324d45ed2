"""Standalone HTML tearsheet. plotly.js is embedded inline once, so the file opens offline
(no CDN, no network request)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

from ai_trading_core.protocols import ReportSection
from ai_trading_core.result import RunResult

from .series import monthly_returns, rolling_sharpe
from .terminal import ATTRIBUTION_COLUMNS, METRIC_ROWS, attribution_rows, fmt
from .trades import closed_trades, trade_pnls

if TYPE_CHECKING:
    from .reporter import AnalyticsReporter

CHART_TITLES = (
    "Equity vs benchmark",
    "Underwater drawdown",
    "Monthly returns",
    "Rolling Sharpe",
    "Exposure",
    "Trade P&L distribution",
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def _dates(timestamps_ns: npt.NDArray[np.int64]) -> list[str]:
    ts = np.asarray(timestamps_ns, dtype=np.int64).astype("datetime64[ns]")
    daily = ts.size == 0 or bool(np.all(ts.astype("datetime64[D]") == ts))
    return [str(s) for s in np.datetime_as_string(ts, unit="D" if daily else "m")]


def _nan_to_none(values: npt.ArrayLike) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).ravel()]


def _layout(fig: go.Figure, title: str, yformat: str | None = None) -> go.Figure:
    fig.update_layout(
        title=title, template="plotly_white", height=360, margin={"l": 60, "r": 20, "t": 50, "b": 40}
    )
    if yformat:
        fig.update_yaxes(tickformat=yformat)
    return fig


def build_figures(reporter: AnalyticsReporter, result: RunResult) -> list[go.Figure]:
    """The six charts, titled as in :data:`CHART_TITLES`."""
    x = _dates(result.timestamps)
    equity = np.asarray(result.equity, dtype=np.float64)
    initial = float(result.session.initial_cash)
    rets = reporter.returns(result)
    calc = reporter.calculator(result)

    eq = go.Figure(go.Scatter(x=x, y=_nan_to_none(equity), name="Strategy", mode="lines"))
    bench = reporter.benchmark_returns(result)
    if bench is not None:
        scaled = initial * np.cumprod(1.0 + bench)
        eq.add_trace(go.Scatter(x=x, y=_nan_to_none(scaled), name="Benchmark (rescaled)", mode="lines"))
    _layout(eq, CHART_TITLES[0])
    eq.update_yaxes(title_text=result.session.currency)

    dd = go.Figure(
        go.Scatter(
            x=x,
            y=_nan_to_none(calc.drawdown_series(rets)),
            fill="tozeroy",
            name="Drawdown",
            mode="lines",
            line={"color": "#c0392b"},
        )
    )
    _layout(dd, CHART_TITLES[1], ".1%")

    years, table = monthly_returns(result.timestamps, rets)
    text = [[("" if np.isnan(v) else f"{v:.1%}") for v in row] for row in table]
    heat = go.Figure(
        go.Heatmap(
            z=[_nan_to_none(row) for row in table],
            x=list(_MONTHS),
            y=[str(y) for y in years],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0.0,
            hoverongaps=False,
            colorbar={"tickformat": ".0%"},
        )
    )
    _layout(heat, CHART_TITLES[2])
    heat.update_yaxes(type="category", autorange="reversed")

    window = reporter.params.rolling_window or max(2, round(calc.periods_per_year / 4))
    roll = go.Figure(
        go.Scatter(
            x=x,
            y=_nan_to_none(rolling_sharpe(rets, window, calc.periods_per_year)),
            name=f"Sharpe ({window} bars)",
            mode="lines",
        )
    )
    _layout(roll, f"{CHART_TITLES[3]} ({window} bars)")

    positive = equity > 0
    gross = np.where(
        positive, np.asarray(result.gross_exposure, dtype=np.float64) / np.where(positive, equity, 1), 0
    )
    net = np.where(
        positive, np.asarray(result.net_exposure, dtype=np.float64) / np.where(positive, equity, 1), 0
    )
    expo = go.Figure(
        [
            go.Scatter(x=x, y=_nan_to_none(gross), name="Gross", mode="lines"),
            go.Scatter(x=x, y=_nan_to_none(net), name="Net", mode="lines"),
        ]
    )
    _layout(expo, CHART_TITLES[4], ".0%")

    pnl = trade_pnls(closed_trades(result.trades))
    dist = go.Figure(go.Histogram(x=pnl.tolist(), nbinsx=min(50, max(10, pnl.size // 3)), name="Trades"))
    _layout(dist, CHART_TITLES[5])
    dist.update_xaxes(title_text=f"P&L per closed trade ({result.session.currency})")
    if pnl.size == 0:
        dist.add_annotation(
            text="No closed trades", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5
        )
    return [eq, dd, heat, roll, expo, dist]


def _metrics_html(section: ReportSection) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{html.escape(fmt(section.metrics[key], kind))}</td></tr>"
        for label, key, kind in METRIC_ROWS
        if key in section.metrics
    )
    return f"<table class='metrics'><tbody>{rows}</tbody></table>"


def _attribution_html(section: ReportSection) -> str:
    parts = []
    groups: list[tuple[str, Any]] = [("By strategy", section.attribution.get("by_strategy", {}))]
    for ens, members in section.attribution.get("ensemble_members", {}).items():
        groups.append((f"Ensemble {ens}: members", members))
    groups.append(("By symbol", section.attribution.get("by_symbol", {})))
    for title, rows in groups:
        if not rows:
            continue
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
            for cells in attribution_rows(rows)
        )
        head = "".join(f"<th>{html.escape(c)}</th>" for c in ATTRIBUTION_COLUMNS)
        parts.append(
            f"<h3>{html.escape(title)}</h3><table class='attr'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{margin-bottom:4px} .sub{color:#666;margin-top:0}
.grid{display:grid;grid-template-columns:minmax(260px,360px) 1fr;gap:24px;align-items:start}
table{border-collapse:collapse;font-size:13px} td,th{padding:3px 10px;border-bottom:1px solid #eee}
td:last-child,th:not(:first-child){text-align:right} .chart{margin-bottom:12px}
.attr td:not(:first-child){text-align:right} .attribution{max-width:900px}
@media (max-width:900px){.grid{grid-template-columns:1fr}}
"""


def render_tearsheet(reporter: AnalyticsReporter, result: RunResult, section: ReportSection) -> str:
    """The tearsheet as one self-contained HTML string."""
    figures = build_figures(reporter, result)
    charts = "".join(
        "<div class='chart'>"
        + fig.to_html(full_html=False, include_plotlyjs=False, config=_PLOT_CONFIG, div_id=f"chart-{i}")
        + "</div>"
        for i, fig in enumerate(figures)
    )
    session = result.session
    title = html.escape(f"ai-trading tearsheet: {session.name or session.run_id}")
    dates = _dates(result.timestamps)
    span = f"{dates[0]} to {dates[-1]}" if dates else "no bars"
    sub = html.escape(
        f"run {session.run_id} · {session.mode} · {session.timeframe} bars · {span} · "
        f"strategies: {', '.join(session.strategies) or '—'}"
    )
    attribution = _attribution_html(section) or "<p>No trades.</p>"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{_CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<h1>{title}</h1><p class='sub'>{sub}</p>"
        f"<div class='grid'><div><h2>Metrics</h2>{_metrics_html(section)}</div><div>{charts}</div></div>"
        f"<h2>Attribution</h2><div class='attribution'>{attribution}</div>"
        "</body></html>"
    )


def write_tearsheet(
    reporter: AnalyticsReporter, result: RunResult, section: ReportSection, path: Path
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_tearsheet(reporter, result, section), encoding="utf-8")
    return path
