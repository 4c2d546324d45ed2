"""Every Python block of docs/python-api.md runs, in order, in one namespace (top-level
``await`` allowed, as in a notebook), in a fresh working directory."""

from __future__ import annotations

import ast
import asyncio
import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_block(code: str, namespace: dict[str, Any]) -> None:
    compiled = compile(code, str(DOC), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, namespace)  # noqa: S307 - the page's own code
    if asyncio.iscoroutine(result):
        asyncio.run(result)


def test_the_page_has_the_original_snippets() -> None:
    text = "\n".join(blocks())
    for snippet in (
        "config = load_config('config.institutional.json')",
        "logger, audit_logger = setup_institutional_logging("
        'log_level="INFO", enable_audit=True, structured_format=True)',
        "risk_monitor = RiskMonitor(config.risk)",
        "position_sizer = PositionSizer(kelly_criterion=KellyCriterion())",
        "perf_calculator = PerformanceCalculator()",
        "dashboard = MonitoringDashboard(perf_calculator, port=8080)",
        "risk_monitor.update_positions(current_positions); risk_monitor.update_portfolio_metrics(portfolio_metrics)",
        "is_safe = await risk_monitor.check_trade_signal(trading_signal)",
        'audit_logger.log_trade_decision(correlation_id="dec-0001", strategy_id="momentum_001", symbol="SPY", '
        'decision="BUY"',
        "kelly.calculate_kelly_fraction(strategy_id=\"momentum_001\", signal=trading_signal, "
        "performance=strategy_performance)",
        "class MomentumStrategy(TechnicalStrategy):",
        "strategy_type=StrategyType.MOMENTUM",
        "timeframe=TimeFrame.MINUTE_5",
        "allocation=Decimal('0.30')",
        "risk_level=RiskLevel.MEDIUM",
        "def calculate_indicators(self, data):",
        "def generate_signals(self, market_data, portfolio_metrics, positions):",
    ):
        assert snippet in text, snippet


def test_every_block_of_the_page_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("AI_TRADING_")] + ["TRADING_ENVIRONMENT"]:
        monkeypatch.delenv(key, raising=False)
    port = free_port()  # 8080 may be taken on a shared machine: the one substitution made here
    namespace: dict[str, Any] = {"__name__": "python_api_page"}
    found = blocks()
    assert len(found) >= 10
    try:
        for i, code in enumerate(found):
            run_block(code.replace("port=8080", f"port={port}"), namespace)
            assert i >= 0
    finally:
        dashboard = namespace.get("dashboard")
        if dashboard is not None and dashboard.server is not None:
            dashboard.stop()
        from ai_trading_core.logs import configure_logging

        configure_logging("WARNING")  # the page's setup_institutional_logging replaced loguru's handlers
    # what the page promised happened
    assert namespace["config"].profile == "production"
    assert namespace["is_safe"] and namespace["is_safe"].approved_quantity > 0
    audit = Path("runs") / namespace["audit_logger"].run_id / "audit.jsonl"
    from ai_trading_core.audit import read_audit_key_file, verify_audit_file

    key = read_audit_key_file(Path(".ai-trading") / "audit-hmac.key")
    verdict = verify_audit_file(audit, key)
    assert verdict.ok and verdict.lines == 2, verdict.problem  # the decision and the seal
