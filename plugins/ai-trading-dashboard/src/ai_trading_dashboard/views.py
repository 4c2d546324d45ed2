"""Figures of one run, computed from its run document (and the audit trail's decision prices
when the source has them). Pure data: no Dash here, so the numbers are testable alone."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from ai_trading_analytics import PerformanceCalculator, trade_statistics

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import DataError
from ai_trading_core.models import Trade
from ai_trading_core.rundoc import rows

FloatArray = npt.NDArray[np.float64]


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


@dataclass
class RunView:
    """Everything the pages show about one finished run."""

    run_id: str
    name: str
    mode: str
    currency: str
    dates: list[str]
    equity: FloatArray
    initial_cash: float
    returns: FloatArray
    drawdown: FloatArray
    pnl: FloatArray  # equity - initial cash, currency
    metrics: dict[str, float | None]
    trade_stats: dict[str, Any]
    trades: list[dict[str, Any]]
    attribution: dict[str, Any]
    risk_events: list[dict[str, Any]]
    risk_verdicts: list[dict[str, Any]]
    limits: list[dict[str, Any]]
    risk_state: str
    slippage_bps: list[dict[str, Any]] = field(default_factory=list)
    plugins: list[dict[str, Any]] = field(default_factory=list)
    symbols: list[str] = field(default_factory=list)
    final_positions: dict[str, str] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)
    """The run document's ``execution`` section (execution brokers): shortfall and slippage
    per strategy (``by_strategy``), per venue (``by_venue``) and overall (``total``)."""

    @property
    def mean_slippage_bps(self) -> float | None:
        values = [s["slippage_bps"] for s in self.slippage_bps]
        return float(np.mean(values)) if values else None


def _periods(doc: dict[str, Any]) -> float:
    try:
        return Timeframe(doc.get("timeframe", "1d")).periods_per_year
    except ValueError:
        return 252.0


def slippage_table(orders: list[dict[str, Any]], decision_prices: dict[str, float]) -> list[dict[str, Any]]:
    """Per filled order, the average fill price against the close at decision time, in bps
    of that close, signed so that positive is a cost (buy above, sell below)."""
    rows = []
    for o in orders:
        ref = decision_prices.get(o.get("correlation_id", ""))
        fill = _finite(o.get("average_fill_price"))
        if not ref or fill is None or o.get("status") not in ("filled", "partially_filled"):
            continue
        sign = 1.0 if o.get("side") == "buy" else -1.0
        rows.append(
            {
                "client_order_id": o["client_order_id"],
                "symbol": o["symbol"],
                "side": o["side"],
                "decision_price": ref,
                "fill_price": fill,
                "slippage_bps": sign * (fill - ref) / ref * 1e4,
                "time": o.get("created_at"),
            }
        )
    return rows


def limit_utilisation(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The most recent measured/limit ratio per (check, limit) seen in risk verdicts and
    risk events: 1.0 means the limit is reached."""
    latest: dict[str, dict[str, Any]] = {}
    for item in [*doc.get("risk_verdicts", []), *doc.get("risk_events", [])]:
        measured, limit = _finite(item.get("measured")), _finite(item.get("limit"))
        if measured is None or limit is None or limit == 0:
            continue
        source = item.get("check") or item.get("source") or "risk"
        latest[source] = {
            "check": source,
            "measured": measured,
            "limit": limit,
            "utilisation": abs(measured) / abs(limit),
            "time": item.get("timestamp"),
        }
    return sorted(latest.values(), key=lambda r: r["check"])


def build_view(doc: dict[str, Any], decision_prices: dict[str, float] | None = None) -> RunView:
    curve = doc.get("equity_curve")
    if not isinstance(curve, list):
        raise DataError(f"run {doc.get('run_id')!r}: the document has no equity_curve")
    dates = [str(p[0]) for p in curve]
    equity = np.array([float(p[1]) if p[1] is not None else np.nan for p in curve], dtype=np.float64)
    if len(equity) and not np.all(np.isfinite(equity)):
        raise DataError(f"run {doc.get('run_id')!r}: equity curve holds missing values")
    initial = float(doc.get("initial_cash") or (equity[0] if len(equity) else 0.0))
    calc = PerformanceCalculator(periods_per_year=_periods(doc))
    returns = np.asarray(calc.returns_from_equity(equity, initial), dtype=np.float64)
    computed = calc.compute(returns)
    metrics: dict[str, float | None] = {k: _finite(v) for k, v in computed.items()}
    for key in ("exposure", "net_exposure", "time_in_market", "turnover"):
        metrics[key] = _finite(doc.get("metrics", {}).get(key))
    trade_rows = rows(doc, "trades")
    trades = [Trade.model_validate(t) for t in trade_rows]
    stats = trade_statistics(trades).as_dict()
    attribution = doc.get("attribution") or {}
    if not attribution.get("by_strategy"):
        by: dict[str, dict[str, Any]] = defaultdict(lambda: {"pnl": 0.0, "trades": 0})
        for t in trades:
            by[t.strategy_id or "(none)"]["pnl"] += float(t.pnl)
            by[t.strategy_id or "(none)"]["trades"] += 0 if t.is_open else 1
        attribution = {
            "by_strategy": {k: {**v, "return_contribution": v["pnl"] / initial} for k, v in by.items()},
            "by_symbol": {},
        }
    events = list(doc.get("risk_events", []))
    return RunView(
        run_id=str(doc.get("run_id", "")),
        name=str(doc.get("name") or ""),
        mode=str(doc.get("mode") or ""),
        currency=str(doc.get("currency") or "USD"),
        dates=dates,
        equity=equity,
        initial_cash=initial,
        returns=returns,
        drawdown=np.asarray(calc.drawdown_series(returns), dtype=np.float64),
        pnl=equity - initial,
        metrics=metrics,
        trade_stats=stats,
        trades=trade_rows,
        attribution=attribution,
        risk_events=events,
        risk_verdicts=list(doc.get("risk_verdicts", [])),
        limits=limit_utilisation(doc),
        risk_state=str(events[-1]["state"]) if events else "active",
        slippage_bps=slippage_table(rows(doc, "orders"), decision_prices or {}),
        plugins=list(doc.get("plugins", [])),
        symbols=list(doc.get("symbols", [])),
        final_positions=dict(doc.get("final_positions", {})),
        execution=dict(doc.get("execution") or {}),
    )


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
