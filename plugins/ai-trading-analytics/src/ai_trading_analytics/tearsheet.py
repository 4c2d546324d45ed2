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

from .series import monthly_returns, rolling_beta, rolling_sharpe, rolling_volatility, worst_drawdowns, yearly_returns
from .terminal import ATTRIBUTION_COLUMNS, METRIC_ROWS, attribution_rows, fmt
from .trades import closed_trades, trade_pnls

if TYPE_CHECKING:
    from .reporter import AnalyticsReporter

CHART_TITLES = (
    "Equity vs benchmark",
    "Underwater drawdown",
    "Monthly returns",
    "Rolling Sharpe",
    "Rolling volatility and beta",
    "Exposure",
    "Trade P&L distribution",
)
#: closed trades listed in the trade table; the rest are counted in a note
MAX_TRADE_ROWS = 2_000
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_PLOT_CONFIG = {"displaylogo": False, "responsive": True, "showSendToCloud": False}
_STATE_COLOURS = {"halted": "#c0392b", "reducing": "#e67e22", "active": "#27ae60"}


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
    _mark_risk_events(eq, result)
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
    # every year labelled (plotly thins crowded category ticks otherwise), 22 px a row
    heat.update_layout(height=max(360, 110 + 22 * len(years)))
    heat.update_yaxes(
        type="category", autorange="reversed", tickmode="array", tickvals=[str(y) for y in years],
        ticktext=[str(y) for y in years],
    )

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

    vol_beta = go.Figure(
        go.Scatter(
            x=x,
            y=_nan_to_none(rolling_volatility(rets, window, calc.periods_per_year)),
            name=f"Volatility, annualised ({window} bars)",
            mode="lines",
        )
    )
    if bench is not None:
        vol_beta.add_trace(
            go.Scatter(
                x=x, y=_nan_to_none(rolling_beta(rets, bench, window)), name=f"Beta to benchmark ({window} bars)",
                mode="lines", yaxis="y2",
            )
        )
        vol_beta.update_layout(yaxis2={"overlaying": "y", "side": "right", "title": "beta", "showgrid": False})
    _layout(vol_beta, f"{CHART_TITLES[4]} ({window} bars)", ".0%")

    positive = equity > 0
    gross = np.where(
        positive, np.asarray(result.gross_exposure, dtype=np.float64) / np.where(positive, equity, 1), 0
    )
    net = np.where(
        positive, np.asarray(result.net_exposure, dtype=np.float64) / np.where(positive, equity, 1), 0
    )
    # Gross is drawn as a filled band under a dashed net line, so that a long-only book (gross
    # equal to net) still shows both.
    expo = go.Figure(
        [
            go.Scatter(
                x=x, y=_nan_to_none(gross), name="Gross", mode="lines", fill="tozeroy",
                line={"color": "rgba(41,128,185,0.9)", "width": 3}, fillcolor="rgba(41,128,185,0.15)",
            ),
            go.Scatter(x=x, y=_nan_to_none(net), name="Net", mode="lines", line={"color": "#2c3e50", "dash": "dash"}),
        ]
    )
    _layout(expo, CHART_TITLES[5], ".0%")

    pnl = trade_pnls(closed_trades(result.trades))
    dist = go.Figure(go.Histogram(x=pnl.tolist(), nbinsx=min(50, max(10, pnl.size // 3)), name="Trades"))
    _layout(dist, CHART_TITLES[6])
    dist.update_xaxes(title_text=f"P&L per closed trade ({result.session.currency})")
    if pnl.size == 0:
        dist.add_annotation(
            text="No closed trades", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5
        )
    return [eq, dd, heat, roll, vol_beta, expo, dist]


def _mark_risk_events(fig: go.Figure, result: RunResult) -> None:
    """A vertical line and a marker at each risk state change (breaker trip, halt, re-arm)."""
    if not result.risk_events:
        return
    xs, ys, texts, colours = [], [], [], []
    stamps = np.asarray(result.timestamps, dtype=np.int64)
    equity = np.asarray(result.equity, dtype=np.float64)
    for event in result.risk_events:
        ns = int(event.timestamp.timestamp() * 1_000_000_000)
        i = min(int(np.searchsorted(stamps, ns)), max(len(stamps) - 1, 0))
        if not len(stamps):
            return
        state = event.state.value
        xs.append(_dates(stamps[i : i + 1])[0])
        ys.append(float(equity[i]) if np.isfinite(equity[i]) else None)
        texts.append(f"{state.upper()} ({event.source}): {event.reason}")
        colours.append(_STATE_COLOURS.get(state, "#7f8c8d"))
    for xv, colour in zip(xs, colours, strict=True):
        fig.add_vline(x=xv, line_width=1, line_dash="dot", line_color=colour)
    fig.add_trace(
        go.Scatter(
            x=xs, y=ys, mode="markers", name="Risk events", text=texts, hoverinfo="text+x",
            marker={"color": colours, "size": 10, "symbol": "x"},
        )
    )


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


def _table(head: list[str], rows: list[list[str]], css: str) -> str:
    h = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>" for cells in rows)
    return f"<table class='{css}'><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def _pct(value: float | None) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:+.2%}"


def _yearly_html(reporter: AnalyticsReporter, result: RunResult) -> str:
    """Compounded return per calendar year, with the benchmark's beside it when there is one."""
    rets = reporter.returns(result)
    rows = yearly_returns(result.timestamps, rets)
    if not rows:
        return "<p>No bars.</p>"
    bench = reporter.benchmark_returns(result)
    bench_by_year = dict(yearly_returns(result.timestamps, bench)) if bench is not None else {}
    head = ["Year", "Return"] + (["Benchmark", "Excess"] if bench_by_year else [])
    body = []
    for year, value in rows:
        cells = [str(year), _pct(value)]
        if bench_by_year:
            b = bench_by_year.get(year)
            cells += [_pct(b), _pct(None if b is None else value - b)]
        body.append(cells)
    return _table(head, body, "yearly")


def _drawdowns_html(reporter: AnalyticsReporter, result: RunResult, top: int = 5) -> str:
    """The worst drawdown periods: peak, trough, recovery dates, depth and length."""
    periods = worst_drawdowns(reporter.returns(result), top)
    if not periods:
        return "<p>No drawdown: the equity never fell below a previous high.</p>"
    stamps = np.asarray(result.timestamps, dtype=np.int64)
    dates = _dates(stamps)
    start_label = "start"

    def at(i: int | float | None) -> str:
        if i is None:
            return "not recovered"
        i = int(i)
        return start_label if i < 0 else dates[i]

    rows = [
        [str(k + 1), at(p["peak"]), at(p["trough"]), at(p["recovery"]), _pct(float(p["depth"] or 0.0)), str(p["bars"])]
        for k, p in enumerate(periods)
    ]
    return _table(["#", "Peak", "Trough", "Recovered", "Depth", "Bars"], rows, "drawdowns")


def _trades_html(result: RunResult) -> str:
    """Every closed trade (up to :data:`MAX_TRADE_ROWS`, newest last), exact prices and P&L."""
    trades = closed_trades(result.trades)
    if not trades:
        return "<p>No closed trades.</p>"
    shown = trades[:MAX_TRADE_ROWS]
    rows = []
    for t in shown:
        entry = float(t.entry_price) * float(t.quantity)
        ret = float(t.pnl) / entry if entry else float("nan")
        rows.append(
            [
                t.symbol,
                t.side.value,
                str(t.quantity),
                t.entry_time.strftime("%Y-%m-%d %H:%M"),
                str(t.entry_price),
                t.exit_time.strftime("%Y-%m-%d %H:%M") if t.exit_time else "",
                "" if t.exit_price is None else str(t.exit_price),
                f"{t.pnl:,.2f}",
                _pct(ret),
                t.strategy_id,
            ]
        )
    note = (
        f"<p class='sub'>First {len(shown):,} of {len(trades):,} closed trades; the run document holds all.</p>"
        if len(trades) > len(shown)
        else ""
    )
    head = ["Symbol", "Side", "Quantity", "Entry", "Entry price", "Exit", "Exit price", "P&L", "Return", "Strategy"]
    return note + _table(head, rows, "trades")


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222}
h1{margin-bottom:4px} .sub{color:#666;margin-top:0}
.grid{display:grid;grid-template-columns:minmax(260px,360px) 1fr;gap:24px;align-items:start}
table{border-collapse:collapse;font-size:13px} td,th{padding:3px 10px;border-bottom:1px solid #eee}
td:last-child,th:not(:first-child){text-align:right} .chart{margin-bottom:12px}
.attr td:not(:first-child){text-align:right} .attribution{max-width:900px}
.tables{display:flex;flex-wrap:wrap;gap:32px;align-items:flex-start}
.trades-wrap{max-height:480px;overflow:auto;border:1px solid #eee} .trades td:nth-child(2){text-align:left}
.trades td:last-child{text-align:left}
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
        f"<div class='tables'><div><h2>Yearly returns</h2>{_yearly_html(reporter, result)}</div>"
        f"<div><h2>Worst drawdowns</h2>{_drawdowns_html(reporter, result)}</div></div>"
        f"<h2>Attribution</h2><div class='attribution'>{attribution}</div>"
        f"<h2>Trades</h2><div class='trades-wrap'>{_trades_html(result)}</div>"
        "</body></html>"
    )


def write_tearsheet(
    reporter: AnalyticsReporter, result: RunResult, section: ReportSection, path: Path
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_tearsheet(reporter, result, section), encoding="utf-8")
    return path
