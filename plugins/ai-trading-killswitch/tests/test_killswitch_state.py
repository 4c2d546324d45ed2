"""The kill switch's files, the check's verdicts and its cheap re-reads."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import ai_trading_killswitch.check as check_module
import numpy as np
import pytest
from ai_trading_killswitch import state as ks_state
from ai_trading_killswitch.check import KillSwitchCheck

from ai_trading_core.enums import OrderType, RiskDecision, RiskState, Side
from ai_trading_core.errors import RiskError, TradingHalted
from ai_trading_core.market import History
from ai_trading_core.models import Order
from ai_trading_core.protocols import RiskContext
from ai_trading_core.testing.contracts import BatchRiskCheckContract

T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)
T1 = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)


def risk_context() -> RiskContext:
    return RiskContext(
        timestamp=1_709_303_400_000_000_000,
        symbols=("AAA",),
        prices=np.array([100.0]),
        positions=np.array([0.0]),
        equity=1e5,
        cash=1e5,
        peak_equity=1e5,
        day_start_equity=1e5,
        history=History(2, 1),
        state=RiskState.ACTIVE,
        symbol_index={"AAA": 0},
    )


def order(n: int = 1) -> Order:
    return Order(
        client_order_id=f"c{n}",
        symbol="AAA",
        side=Side.BUY,
        quantity=Decimal(10),
        order_type=OrderType.MARKET,
        created_at=T0,
        correlation_id=f"k{n}",
    )


def test_halt_and_resume_write_the_state_file(tmp_path: Path) -> None:
    assert not ks_state.current_state(tmp_path).halted
    previous, state = ks_state.halt(tmp_path, reason="bad fills", by="ops", now=T0)
    assert not previous.halted
    doc = json.loads(ks_state.state_path(tmp_path).read_text())
    assert doc == {"halted": True, "reason": "bad fills", "since": T0.isoformat(), "by": "ops"}
    # a second halt keeps the first one's record
    again, state2 = ks_state.halt(tmp_path, reason="other", by="someone", now=T1)
    assert again == state == state2 == ks_state.current_state(tmp_path)
    previous, state = ks_state.resume(tmp_path, reason="fixed", by="ops", now=T1)
    assert previous.halted and previous.reason == "bad fills"
    assert json.loads(ks_state.state_path(tmp_path).read_text()) == {
        "halted": False,
        "reason": "resumed: fixed",
        "since": T1.isoformat(),
        "by": "ops",
    }
    unchanged, _ = ks_state.resume(tmp_path, reason="again", by="ops", now=T1)
    assert not unchanged.halted and unchanged.reason == "resumed: fixed"
    with pytest.raises(RiskError, match="needs a reason"):
        ks_state.halt(tmp_path, reason="  ", by="ops", now=T0)
    assert not list(ks_state.state_path(tmp_path).parent.glob("*.tmp"))


def test_dashboard_halt_request_is_honoured(tmp_path: Path) -> None:
    """A request written in the dashboard's format (without this plugin's API) halts, ends
    in state.json, and only an explicit resume clears it."""
    path = ks_state.halt_request_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "requested_at": T0.isoformat(),
                "requested_by": "dashboard:ops",
                "reason": "kill switch pressed on the dashboard",
            }
        )
    )
    state = ks_state.current_state(tmp_path)
    assert state.halted and state.by == "dashboard:ops" and state.since == T0.isoformat()
    assert json.loads(ks_state.state_path(tmp_path).read_text())["halted"] is True
    ks_state.resume(tmp_path, reason="checked", by="ops", now=T1)
    assert not path.exists() and not ks_state.current_state(tmp_path).halted


def test_request_halt_has_the_dashboards_signature(tmp_path: Path) -> None:
    dashboard = pytest.importorskip("ai_trading_dashboard.killswitch")
    written = dashboard.request_halt(tmp_path, requested_by="dashboard:ops", reason="pressed", now=T0)
    assert written == ks_state.state_path(tmp_path)
    assert ks_state.current_state(tmp_path).halted
    request = json.loads(ks_state.halt_request_path(tmp_path).read_text())
    assert request == {"requested_at": T0.isoformat(), "requested_by": "dashboard:ops", "reason": "pressed"}
    assert ks_state.request_halt(tmp_path, requested_by="x", reason="y", now=T1) == ks_state.state_path(
        tmp_path
    )
    assert ks_state.current_state(tmp_path).reason == "pressed"  # still the first halt


def test_unreadable_files_fail_closed(tmp_path: Path) -> None:
    path = ks_state.state_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("{half")
    with pytest.raises(RiskError, match="not valid JSON"):
        ks_state.current_state(tmp_path)
    path.write_text('{"halted": "no"}')
    with pytest.raises(RiskError, match="boolean 'halted'"):
        KillSwitchCheck(tmp_path).update(risk_context())
    path.unlink()
    ks_state.halt_request_path(tmp_path).write_text("[1]")
    with pytest.raises(RiskError, match="halt request"):
        ks_state.current_state(tmp_path)


def test_check_verdicts_follow_the_file(tmp_path: Path) -> None:
    ks = KillSwitchCheck(tmp_path)
    ctx = risk_context()
    assert ks.update(ctx) is None
    verdicts = ks.check([order(1), order(2)], ctx)
    assert [v.decision for v in verdicts] == [RiskDecision.APPROVE] * 2
    assert [v.client_order_id for v in verdicts] == ["c1", "c2"]
    ks.refuse_if_halted()
    ks_state.halt(tmp_path, reason="desk call", by="ops", now=T0)
    request = ks.update(ctx)
    assert request is not None and request.state is RiskState.HALTED and "desk call" in request.reason
    (v,) = ks.check([order(3)], ctx)
    assert v.decision is RiskDecision.REJECT and v.approved_quantity == 0 and v.check == "kill_switch"
    with pytest.raises(TradingHalted, match="desk call"):
        ks.refuse_if_halted()
    ks_state.resume(tmp_path, reason="ok", by="ops", now=T1)
    assert ks.update(ctx) is None


def test_files_are_parsed_only_when_they_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[Path] = []
    real = check_module.current_state

    def counting(state_dir: Path):  # type: ignore[no-untyped-def]
        reads.append(state_dir)
        return real(state_dir)

    monkeypatch.setattr(check_module, "current_state", counting)
    ks = KillSwitchCheck(tmp_path)
    ctx = risk_context()
    for _ in range(100):
        ks.update(ctx)
        ks.check([order()], ctx)
    assert len(reads) == 1
    ks_state.halt(tmp_path, reason="x", by="ops", now=T0)
    for _ in range(100):
        assert ks.update(ctx) is not None
    assert len(reads) == 2
    # a replacement with the same size and the same mtime is still seen: it is another file
    first = ks_state.state_path(tmp_path).stat()
    os.link(ks_state.state_path(tmp_path), tmp_path / "keep")  # the old inode stays in use, never reused
    ks_state.resume(tmp_path, reason="y", by="ops", now=T1)
    ks_state.halt(tmp_path, reason="z", by="ops", now=T0)
    assert ks_state.state_path(tmp_path).stat().st_size == first.st_size
    os.utime(ks_state.state_path(tmp_path), ns=(first.st_atime_ns, first.st_mtime_ns))
    request = ks.update(ctx)
    assert request is not None and "kill switch: z" in request.reason and len(reads) == 3


class TestKillSwitchArmedContract(BatchRiskCheckContract):
    @pytest.fixture
    def risk_check(self, tmp_path: Path) -> KillSwitchCheck:
        return KillSwitchCheck(tmp_path)


class TestKillSwitchHaltedContract(BatchRiskCheckContract):
    @pytest.fixture
    def risk_check(self, tmp_path: Path) -> KillSwitchCheck:
        ks_state.halt(tmp_path, reason="contract", by="tests", now=T0)
        return KillSwitchCheck(tmp_path)
