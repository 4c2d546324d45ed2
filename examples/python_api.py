"""The Python API from a script or a notebook (docs/python-api.md): a backtest of a
strategy written as a ``TechnicalStrategy`` subclass, Kelly sizing from its closed trades, a
risk-monitor check of a signal with the decision in the audit trail, and the monitoring
dashboard over the run, probed over HTTP and stopped.

    python examples/python_api.py                 # dashboard on 127.0.0.1:8080
    python examples/python_api.py --port 0        # any free port
    python examples/python_api.py --serve         # keep the dashboard up until Ctrl-C

The last line printed is a JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from ai_trading_core import rundoc
from ai_trading_core.api import (
    KellyCriterion,
    MonitoringDashboard,
    PerformanceCalculator,
    PositionSizer,
    RiskLevel,
    RiskMonitor,
    Signal,
    StrategyPerformance,
    StrategyType,
    TechnicalStrategy,
    TimeFrame,
    config_from_dict,
    create_plugin_host,
    run_config,
    setup_institutional_logging,
    strategy_plugin,
)


class MomentumStrategy(TechnicalStrategy):
    """Long when the 10-bar mean close is above the 30-bar one, flat otherwise."""

    def __init__(self) -> None:
        super().__init__(
            "momentum_001",
            strategy_type=StrategyType.MOMENTUM,
            timeframe=TimeFrame.DAILY,
            allocation=Decimal("0.30"),
            risk_level=RiskLevel.MEDIUM,
            lookback=30,
        )

    def calculate_indicators(self, data: Any) -> dict[str, float]:
        close = data["close"]
        return {"fast": float(close.tail(10).mean()), "slow": float(close.tail(30).mean()), "bars": len(close)}

    def generate_signals(self, market_data: Any, portfolio_metrics: Any, positions: Any) -> list[Signal]:
        signals = []
        for symbol, data in market_data.items():
            ind = self.calculate_indicators(data)
            if ind["bars"] >= 30:
                signals.append(self.signal(symbol, 1.0 if ind["fast"] > ind["slow"] else 0.0))
        return signals


def backtest(out: Path) -> Any:
    config = config_from_dict(
        {
            "run": {
                "name": "python-api",
                "start": "2005-01-01",
                "end": "2009-12-31",
                "output_dir": str(out / "runs"),
                "state_dir": str(out / "state"),
            },
            "plugins": {"load": ["sample-data", "sim", "risk-limits", "killswitch", "analytics"]},
            "data": {"name": "arch_indices", "params": {"symbols": ["SP500", "NASDAQ"]}},
            "strategies": [{"name": "seed_momentum", "id": "momentum_001"}],
            "sizer": {"name": "equal_weight", "params": {"gross": 0.98}},
            "risk": [
                {"name": "portfolio_limits", "params": {"max_position_weight": 0.6}},
                {"name": "kill_switch"},
            ],
            "reporters": [{"name": "analytics"}],
        }
    )
    host = create_plugin_host(
        only=config.plugins.load,
        extra_plugins={"python-api-example": strategy_plugin("seed_momentum", MomentumStrategy)},
    )
    return config, run_config(config, host)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="dashboard port (0: any free one)")
    parser.add_argument("--out", type=Path, default=Path("runs/python-api"), help="where files go")
    parser.add_argument("--serve", action="store_true", help="keep the dashboard up until interrupted")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    logger, audit_logger = setup_institutional_logging(
        log_level="INFO",
        enable_audit=True,
        structured_format=True,
        log_path=out / "log.jsonl",
        audit_path=out / "decisions.jsonl",
        state_dir=out / "state",
    )
    assert audit_logger is not None

    # 1. a backtest
    config, outcome = backtest(out)
    doc = outcome.document
    logger.info("backtest {} finished: equity {}", doc["run_id"], doc["final_equity"])

    # 2. Kelly sizing from the strategy's closed trades
    returns = [
        float(Decimal(t["pnl"]) / (Decimal(t["entry_price"]) * Decimal(t["quantity"])))
        for t in rundoc.rows(doc, "trades")
        if not t["is_open"]
    ]
    performance = StrategyPerformance(strategy_id="momentum_001", trade_returns=returns)
    kelly = KellyCriterion(lookback_periods=50, min_trades=5)
    position_sizer = PositionSizer(kelly_criterion=kelly)
    last_close = outcome.engine.history.window("close", 1)[-1]  # the last bar's closes
    prices = {s: float(v) for s, v in zip(doc["symbols"], last_close, strict=True)}
    signal = Signal(
        strategy_id="momentum_001",
        symbol="SP500",
        timestamp=doc["end"],
        strength=1.0,
        confidence=0.8,
        correlation_id="example-1",
    )
    fraction = kelly.calculate_kelly_fraction(strategy_id="momentum_001", signal=signal, performance=performance)
    size = position_sizer.calculate_position_size(
        "momentum_001", signal, performance, equity=doc["final_equity"], price=Decimal(repr(prices["SP500"]))
    )

    # 3. the risk monitor over the run's own risk checks, and the decision audited
    risk_monitor = RiskMonitor(config.risk, state_dir=out / "state")
    risk_monitor.update_positions({s: Decimal(q) for s, q in doc["final_positions"].items()})
    risk_monitor.update_portfolio_metrics(
        {"equity": doc["final_equity"], "cash": doc["final_cash"], "prices": prices, "timestamp": signal.timestamp}
    )
    # the monitor reads strength as the target position, a fraction of equity: the Kelly size
    sized = signal.model_copy(update={"strength": size.fraction})
    check = asyncio.run(risk_monitor.check_trade_signal(sized))
    audit_logger.log_trade_decision(
        correlation_id="example-1",
        strategy_id="momentum_001",
        symbol="SP500",
        decision="BUY" if check else "NONE",
        reasoning=list(check.reasons) or "within every limit",
        market_data={"close": prices["SP500"]},
        position_size=size.fraction,
        risk_metrics={"kelly_fraction": fraction, "approved_quantity": check.approved_quantity},
    )
    audit_logger.close()

    # 4. the dashboard over the run document, probed over HTTP on loopback
    run_json = out / "run.json"
    run_json.write_text(json.dumps(doc), encoding="utf-8")
    perf_calculator = PerformanceCalculator()
    dashboard = MonitoringDashboard(perf_calculator, port=args.port, run_json=run_json, state_dir=out / "state")
    server = dashboard.start_dashboard(block=False)
    try:
        with urllib.request.urlopen(f"{server.url}/", timeout=10) as response:
            status = response.status
            page = response.read().decode("utf-8", "replace")
        if args.serve:
            print(f"dashboard on {server.url} (Ctrl-C stops it)")
            try:
                while True:
                    input()
            except (KeyboardInterrupt, EOFError):
                pass
    finally:
        dashboard.stop()

    summary = {
        "run_id": doc["run_id"],
        "final_equity": doc["final_equity"],
        "closed_trades": len(returns),
        "kelly_fraction": fraction,
        "position_units": str(size.quantity),
        "risk_allowed": bool(check),
        "risk_reasons": list(check.reasons),
        "dashboard_url": server.url,
        "dashboard_status": status,
        "dashboard_is_dash": "_dash-config" in page or "dash" in page.lower(),
        "audit": str(out / "decisions.jsonl"),
        "audit_state_dir": str(out / "state"),
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
