"""The run document written by ``ai-trading run --json-out``; specified in
``docs/run-document.md``. Plain JSON: Decimals as strings, timestamps ISO-8601 UTC, no NaN
(missing values are null)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from .market import to_datetime
from .models import Order
from .protocols import ReportSection
from .result import RunResult

if TYPE_CHECKING:
    from .config import AppConfig

SCHEMA_VERSION = 1
_ORDERS = TypeAdapter(list[Order])


def json_safe(value: Any) -> Any:
    """Replace NaN/inf floats by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _iso(ns: int) -> str:
    return to_datetime(ns).isoformat().replace("+00:00", "Z")


def _iso_many(ts: Any) -> list[str]:
    """ISO-8601 UTC strings ('...Z') for an int64 nanosecond array, vectorised."""
    import numpy as np

    unit = "s" if not np.any(ts % 1_000_000_000) else "us"
    as_dt = ts.view("datetime64[ns]").astype(f"datetime64[{unit}]")
    strings: list[str] = np.datetime_as_string(as_dt, unit=unit, timezone="UTC").tolist()  # type: ignore[call-overload]
    return strings


def _curve(stamps: list[str], values: Any) -> list[list[Any]]:
    """``[[iso, value], ...]`` with None for a non-finite value."""
    import numpy as np

    if bool(np.isfinite(values).all()):
        return list(map(list, zip(stamps, values.tolist(), strict=True)))
    return [[t, e if math.isfinite(e) else None] for t, e in zip(stamps, values.tolist(), strict=True)]


def build_run_document(
    result: RunResult,
    config: AppConfig | None,
    sections: Sequence[ReportSection] = (),
    config_doc: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``config_doc`` is the redacted config to embed (see ``runner.redacted_config``);
    without it ``config.redacted()`` is used, which masks credentials only."""
    s = result.session
    ts = result.timestamps
    closed = [t for t in result.trades if not t.is_open]
    metrics: dict[str, Any] = {
        "initial_equity": float(s.initial_cash),
        "final_equity": float(result.final_equity),
        "total_return": result.total_return,
        "trade_count": len(closed),
        "open_trade_count": len(result.trades) - len(closed),
        "order_count": len(result.orders),
        "fill_count": len(result.fills),
    }
    attribution: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for section in sections:
        metrics.update(section.metrics)
        attribution.update(section.attribution)
        extra.update(section.extra)
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": s.run_id,
        "name": s.name,
        "mode": s.mode.value,
        "plugins": [{"name": p.name, "distribution": p.distribution, "version": p.version} for p in s.plugins],
        "config_hash": s.config_hash,
        "config": config_doc if config_doc is not None else (config.redacted() if config is not None else None),
        "profile": config.profile if config is not None else None,  # TRADING_ENVIRONMENT / --env
        "timeframe": s.timeframe.value,
        "symbols": list(s.symbols),
        "currency": s.currency,
        "start": _iso(int(ts[0])) if len(ts) else None,
        "end": _iso(int(ts[-1])) if len(ts) else None,
        "bars": int(len(ts)),
        "initial_cash": str(s.initial_cash),
        "final_cash": str(result.final_cash),
        "final_equity": str(result.final_equity),
        "final_positions": {k: str(v) for k, v in result.final_positions.items()},
        "equity_curve": _curve(_iso_many(ts), result.equity),
        "trades": [
            {
                "symbol": t.symbol,
                "side": t.side.value,
                "quantity": str(t.quantity),
                "entry_time": t.entry_time.isoformat().replace("+00:00", "Z"),
                "entry_price": str(t.entry_price),
                "exit_time": t.exit_time.isoformat().replace("+00:00", "Z") if t.exit_time else None,
                "exit_price": str(t.exit_price) if t.exit_price is not None else None,
                "pnl": str(t.pnl),
                "commission": str(t.commission),
                "strategy_id": t.strategy_id,
                "is_open": t.is_open,
            }
            for t in result.trades
        ],
        "orders": _ORDERS.dump_python(result.orders, mode="json"),  # one call, not one per order
        "metrics": metrics,
        "risk_events": [e.model_dump(mode="json") for e in result.risk_events],
        "risk_verdicts": [v.model_dump(mode="json") for v in result.risk_verdicts if v.decision.value != "approve"],
        "attribution": attribution,
        "strategies": result.extra.get("strategies", {}),
    }
    # Orders and trades are strings and enums already; only the float-bearing sections need
    # NaN/inf replaced (walking 50,000 orders for it would cost more than building them).
    for key in ("metrics", "attribution", "strategies", "risk_events", "risk_verdicts"):
        doc[key] = json_safe(doc[key])
    doc.update(json_safe(extra))
    return doc
