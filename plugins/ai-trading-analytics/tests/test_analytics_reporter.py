"""The ``analytics`` reporter on hand-built run results: run document, terminal table, HTML
tearsheet, registration."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ai_trading_analytics import AnalyticsParams, AnalyticsReporter, PerformanceCalculator
from ai_trading_analytics.plugin import ai_trading_register_reporters
from ai_trading_analytics.series import rolling_beta, rolling_volatility, worst_drawdowns, yearly_returns
from ai_trading_analytics.tearsheet import CHART_TITLES
from rich.console import Console

from ai_trading_core.enums import RiskState, Role, RunMode, Side, Timeframe
from ai_trading_core.errors import ConfigError
from ai_trading_core.models import Fill, RiskEvent, Trade
from ai_trading_core.protocols import Reporter
from ai_trading_core.registry import BuildContext, ComponentRegistry
from ai_trading_core.result import RunResult, Session

REQUIRED_METRICS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "calmar",
    "information_ratio",
    "var_95_historical",
    "var_99_historical",
    "var_95_parametric",
    "var_99_parametric",
    "cvar_95",
    "cvar_99",
    "max_drawdown",
    "max_drawdown_duration_bars",
    "win_rate",
    "profit_factor",
    "expectancy",
    "average_win",
    "average_loss",
    "exposure",
    "turnover",
)
START = datetime(2020, 1, 1, tzinfo=UTC)


def session(timeframe: Timeframe = Timeframe.D1, cash: str = "100000") -> Session:
    return Session(
        run_id="run-1",
        mode=RunMode.BACKTEST,
        config_hash="abc",
        timeframe=timeframe,
        symbols=("AAA", "BBB"),
        initial_cash=Decimal(cash),
        currency="USD",
        strategies=("sma", "ens"),
    )


def run_result(
    equity: np.ndarray,
    *,
    trades: list[Trade] | None = None,
    fills: list[Fill] | None = None,
    gross: np.ndarray | None = None,
    benchmark: np.ndarray | None = None,
    timeframe: Timeframe = Timeframe.D1,
    cash: str = "100000",
) -> RunResult:
    n = len(equity)
    step = np.timedelta64(timeframe.seconds, "s")
    timestamps = (np.datetime64("2020-01-01", "ns") + np.arange(n) * step).astype(np.int64)
    gross = np.zeros(n) if gross is None else gross
    return RunResult(
        session=session(timeframe, cash),
        timestamps=timestamps,
        equity=equity.astype(np.float64),
        cash=equity - gross,
        gross_exposure=gross,
        net_exposure=gross * 0.5,
        final_cash=Decimal(str(equity[-1])) if n else Decimal(cash),
        final_equity=Decimal(str(equity[-1])) if n else Decimal(cash),
        final_positions={},
        trades=trades or [],
        orders=[],
        fills=fills or [],
        risk_events=[],
        risk_verdicts=[],
        instruments={},
        benchmark=benchmark,
    )


def trades_for(n_days: int) -> list[Trade]:
    out = []
    for i, pnl in enumerate(["500", "-200", "300", "-100", "50"]):
        out.append(
            Trade(
                symbol="AAA" if i % 2 else "BBB",
                side=Side.BUY,
                quantity=Decimal(10),
                entry_time=START,
                entry_price=Decimal(100),
                exit_time=START + timedelta(days=min(10 * (i + 1), n_days - 1)),
                exit_price=Decimal(101),
                pnl=Decimal(pnl),
                strategy_id="sma" if i < 2 else f"ens/m{i % 2}",
            )
        )
    return out


def realistic(n: int = 600, seed: int = 3) -> RunResult:
    rng = np.random.default_rng(seed)
    equity = 100_000 * np.cumprod(1 + rng.normal(0.0004, 0.01, n))
    bench = 3000 * np.cumprod(1 + rng.normal(0.0003, 0.011, n))
    bench[5] = np.nan  # a missing benchmark close is filled forward
    gross = equity * np.clip(rng.normal(0.8, 0.2, n), 0, None)
    fills = [
        Fill(
            execution_id=f"e{i}",
            client_order_id=f"o{i}",
            symbol="AAA",
            side=Side.BUY,
            quantity=Decimal(100),
            price=Decimal("250.5"),
            timestamp=START,
        )
        for i in range(40)
    ]
    return run_result(equity, trades=trades_for(n), fills=fills, gross=gross, benchmark=bench)


def assert_json_safe(section_dict: dict) -> None:
    # allow_nan=False raises on NaN/inf anywhere in the document.
    json.dumps(section_dict, allow_nan=False)


def test_reporter_satisfies_the_protocol_and_registers() -> None:
    assert isinstance(AnalyticsReporter(), Reporter)
    registry = ComponentRegistry(Role.REPORTER)
    ai_trading_register_reporters(registry)
    reporter = registry.get("analytics").build(
        {"risk_free_rate": 0.01}, BuildContext(component_id="analytics")
    )
    assert isinstance(reporter, AnalyticsReporter) and reporter.params.risk_free_rate == 0.01
    with pytest.raises(ConfigError, match="risk_fre"):
        registry.get("analytics").build({"risk_fre_rate": 0.01}, BuildContext(component_id="analytics"))


def test_metrics_of_a_realistic_run() -> None:
    result = realistic()
    section = AnalyticsReporter().report(result)
    m = section.metrics
    assert set(REQUIRED_METRICS) <= set(m)
    assert_json_safe({"metrics": m, "attribution": section.attribution})
    rets = np.r_[result.equity[0] / 100_000 - 1, result.equity[1:] / result.equity[:-1] - 1]
    calc = PerformanceCalculator()
    assert m["total_return"] == pytest.approx(result.total_return, rel=1e-9)
    assert m["sharpe"] == pytest.approx(calc.sharpe(rets), rel=1e-12)
    closes = result.benchmark.copy()
    closes[5] = closes[4]
    bench_rets = np.r_[0.0, closes[1:] / closes[:-1] - 1]
    assert m["information_ratio"] == pytest.approx(calc.information_ratio(rets, bench_rets), rel=1e-12)
    assert m["benchmark_total_return"] == pytest.approx(closes[-1] / closes[0] - 1, rel=1e-12)
    assert m["exposure"] == pytest.approx(np.mean(result.gross_exposure / result.equity), rel=1e-12)
    notional = 40 * 100 * 250.5
    assert m["turnover"] == pytest.approx(notional / result.equity.mean() * 252 / 600, rel=1e-12)
    assert m["trades"] == 5 and m["win_rate"] == pytest.approx(3 / 5)
    assert m["profit_factor"] == pytest.approx(850 / 300)
    assert isinstance(m["max_drawdown_duration_bars"], int)
    att = section.attribution
    assert set(att["by_strategy"]) == {"sma", "ens"}
    assert set(att["ensemble_members"]["ens"]) == {"m0", "m1"}
    assert att["by_strategy"]["sma"]["pnl"] == 300.0


def test_intraday_annualisation_follows_the_timeframe() -> None:
    result = realistic()
    result.session = session(Timeframe.H1)
    m = AnalyticsReporter().report(result).metrics
    assert m["periods_per_year"] == pytest.approx(252 * 6.5)
    override = AnalyticsReporter(AnalyticsParams(periods_per_year=365)).report(result).metrics
    assert override["periods_per_year"] == 365


@pytest.mark.parametrize(
    "equity",
    [np.full(30, 100_000.0), np.array([100_000.0]), np.array([100_000.0, 99_000.0, 98_000.0]), np.array([])],
    ids=["flat-no-trades", "one-bar", "all-losses", "no-bars"],
)
def test_edge_cases_give_a_json_safe_document(equity: np.ndarray) -> None:
    result = run_result(equity, benchmark=np.full(len(equity), 10.0))
    section = AnalyticsReporter().report(result)
    assert set(REQUIRED_METRICS) <= set(section.metrics)
    assert_json_safe({"metrics": section.metrics, "attribution": section.attribution})
    assert section.metrics["trades"] == 0 and section.metrics["win_rate"] is None
    assert section.metrics["exposure"] == 0.0 and section.metrics["turnover"] == 0.0
    console = Console(record=True, width=120)
    AnalyticsReporter().render(result, section, console)
    assert "Sharpe" in console.export_text()


def test_all_losing_trades() -> None:
    equity = np.array([100_000.0, 99_800.0, 99_500.0])
    losers = [t.model_copy(update={"pnl": Decimal("-100")}) for t in trades_for(3)]
    m = AnalyticsReporter().report(run_result(equity, trades=losers)).metrics
    assert m["win_rate"] == 0.0 and m["profit_factor"] == 0.0 and m["expectancy"] == -100.0
    assert m["average_win"] is None and m["max_drawdown"] == pytest.approx(-0.005)


def test_render_prints_metrics_and_attribution() -> None:
    result = realistic()
    section = AnalyticsReporter().report(result)
    console = Console(record=True, width=140)
    AnalyticsReporter().render(result, section, console)
    text = console.export_text()
    for needle in (
        "Performance",
        "Sharpe",
        "Information ratio",
        "CVaR 99 %",
        "Attribution by strategy",
        "Ensemble ens: members",
        "Attribution by symbol",
    ):
        assert needle in text
    assert f"{section.metrics['sharpe']:.2f}" in text


def _write(tmp_path: Path, result: RunResult) -> tuple[Path, str]:
    reporter = AnalyticsReporter()
    path = reporter.write_report(result, reporter.report(result), tmp_path / "sub" / "tearsheet.html")
    return path, path.read_text(encoding="utf-8")


def test_tearsheet_is_offline_and_has_every_chart(tmp_path: Path) -> None:
    path, text = _write(tmp_path, realistic())
    assert path.exists()
    for title in CHART_TITLES:
        assert title.replace("&", "&amp;") in text or json.dumps(title)[1:-1] in text, title
    assert not re.search(r"<script[^>]+src\s*=", text, re.I), "no external scripts"
    assert not re.search(r"<link[^>]+href\s*=\s*['\"]?https?:", text, re.I), "no external stylesheets"
    assert not re.search(r"<(img|iframe)[^>]+src\s*=\s*['\"]?https?:", text, re.I)
    assert text.count("Plotly.newPlot") == len(CHART_TITLES)
    assert len(text) > 1_000_000  # plotly.js is inline


def test_tearsheet_of_an_empty_run(tmp_path: Path) -> None:
    _, text = _write(tmp_path, run_result(np.full(3, 100_000.0)))
    assert "No closed trades" in text


@pytest.mark.browser
def test_tearsheet_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    path, _ = _write(tmp_path, realistic())
    proc = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Chromium logs every console message (console.error, uncaught exceptions) as a CONSOLE line;
    # the tearsheet should log nothing at all.
    console_messages = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert not console_messages, console_messages
    # plotly drew every chart: each div received an SVG main layer.
    assert proc.stdout.count('class="main-svg"') >= len(CHART_TITLES)
    assert "Trade P&amp;L distribution" in proc.stdout


# --------------------------------------------------------------- tables and added charts


def stamps(n: int, start: str = "2019-12-30") -> np.ndarray:
    return (np.datetime64(start, "ns") + np.arange(n) * np.timedelta64(1, "D")).astype(np.int64)


def test_yearly_returns_equal_pandas_compounding() -> None:
    rng = np.random.default_rng(1)
    r = rng.normal(0.0005, 0.01, 900)
    ts = stamps(900)
    ours = yearly_returns(ts, r)
    s = pd.Series(r, index=pd.to_datetime(ts, utc=True))
    ref = (1 + s).groupby(s.index.year).prod() - 1
    assert [y for y, _ in ours] == list(ref.index)
    np.testing.assert_allclose([v for _, v in ours], ref.to_numpy(), rtol=1e-12)


def test_rolling_volatility_and_beta_equal_pandas() -> None:
    rng = np.random.default_rng(2)
    b = rng.normal(0, 0.01, 300)
    r = 1.3 * b + rng.normal(0, 0.004, 300)
    vol = rolling_volatility(r, 20, 252)
    ref_vol = pd.Series(r).rolling(20).std(ddof=1) * np.sqrt(252)
    np.testing.assert_allclose(vol, ref_vol.to_numpy(), rtol=1e-10, equal_nan=True)
    beta = rolling_beta(r, b, 20)
    rs, bs = pd.Series(r), pd.Series(b)
    ref_beta = rs.rolling(20).cov(bs) / bs.rolling(20).var()
    np.testing.assert_allclose(beta, ref_beta.to_numpy(), rtol=1e-9, equal_nan=True)
    assert np.isnan(rolling_beta(r, np.zeros(300), 20)).all()  # a flat benchmark has no beta


def test_worst_drawdowns_hand_worked() -> None:
    # wealth: 1.1, 0.88, 0.924, 1.1088, 0.99792, 1.0079 -> falls of -20 % (peak 0, trough 1,
    # back above 1.1 at 3) and -10 % (peak 3, trough 4, not recovered; 2 bars to the end)
    periods = worst_drawdowns([0.1, -0.2, 0.05, 0.2, -0.1, 0.01])
    assert [(p["peak"], p["trough"], p["recovery"], p["bars"]) for p in periods] == [(0, 1, 3, 3), (3, 4, None, 2)]
    assert periods[0]["depth"] == pytest.approx(-0.2) and periods[1]["depth"] == pytest.approx(-0.1)
    # a fall from the starting capital: the peak is the start (-1)
    assert worst_drawdowns([-0.5, 1.0])[0] == {"peak": -1, "trough": 0, "recovery": 1, "depth": -0.5, "bars": 2}
    assert worst_drawdowns([0.01, 0.02]) == []
    # the depth equals the maximum drawdown quantstats/empyrical define: min(wealth / peak - 1)
    rng = np.random.default_rng(3)
    r = rng.normal(0, 0.02, 500)
    wealth = np.cumprod(1 + r)
    mdd = float(np.min(wealth / np.maximum.accumulate(np.r_[1.0, wealth])[1:] - 1))
    assert worst_drawdowns(r, 1)[0]["depth"] == pytest.approx(mdd)


def _html(tmp_path: Path, result: RunResult) -> str:
    reporter = AnalyticsReporter()
    path = reporter.write_report(result, reporter.report(result), tmp_path / "tearsheet.html")
    return path.read_text(encoding="utf-8")


def test_tearsheet_has_trade_table_yearly_returns_and_worst_drawdowns(tmp_path: Path) -> None:
    result = realistic()
    text = _html(tmp_path, result)
    for heading in ("Yearly returns", "Worst drawdowns", "Trades", "Rolling volatility and beta"):
        assert f"<h2>{heading}</h2>" in text or heading in text, heading
    trades_table = re.search(r"<table class='trades'>.*?</table>", text, re.S)
    assert trades_table is not None
    assert trades_table.group(0).count("<tr>") == 1 + len([t for t in result.trades if not t.is_open])
    assert "-200.00" in trades_table.group(0)  # a losing trade's exact P&L
    yearly = re.search(r"<table class='yearly'>.*?</table>", text, re.S)
    assert yearly is not None and "<td>2020</td>" in yearly.group(0) and "<td>2021</td>" in yearly.group(0)
    assert "Benchmark" in yearly.group(0)  # the run has a benchmark: its yearly returns beside
    dd = re.search(r"<table class='drawdowns'>.*?</table>", text, re.S)
    assert dd is not None and dd.group(0).count("<tr>") == 6  # header + five worst periods
    # one tick label per year on the heatmap, not every other one
    assert '"tickvals":["2020","2021"]' in text.replace(" ", "")


def test_risk_events_are_marked_on_the_equity_curve(tmp_path: Path) -> None:
    result = realistic()
    result.risk_events.append(
        RiskEvent(
            timestamp=datetime(2020, 3, 2, tzinfo=UTC), source="circuit_breaker",
            previous_state=RiskState.ACTIVE, state=RiskState.HALTED, reason="daily loss 3.1% > 3%",
        )
    )
    text = _html(tmp_path, result)
    assert re.search(r'"name":\s*"Risk events"', text)
    assert "HALTED (circuit_breaker): daily loss 3.1%" in text


@pytest.mark.browser
def test_tearsheet_screenshot_is_drawn(tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    _html(tmp_path, realistic())
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         "--virtual-time-budget=5000", "--window-size=1400,2400", f"--screenshot={shot}",
         (tmp_path / "tearsheet.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    # A drawn page compresses far worse than a blank one: a white 1400x2400 PNG is a few KiB,
    # the tearsheet's charts and tables make it well over 100 KiB.
    assert len(data) > 100_000, len(data)
