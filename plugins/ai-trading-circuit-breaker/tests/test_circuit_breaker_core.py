"""CircuitBreaker: daily loss, rapid loss window, escalation, re-arm, persistence."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from ai_trading_circuit_breaker import CircuitBreaker

from ai_trading_core.clock import SimulatedClock
from ai_trading_core.enums import RiskState
from ai_trading_core.errors import ConfigError, RiskError
from ai_trading_core.models import utc

T0 = utc(2024, 3, 4, 14, 30)


def at(seconds: float) -> int:
    return int((T0 + timedelta(seconds=seconds)).timestamp() * 1e9)


def test_daily_loss_trips_at_the_limit_and_halts() -> None:
    cb = CircuitBreaker(daily_loss_limit=0.05, rapid_loss_limit=0.5, rapid_loss_window=900)
    # day start 100,000; a 4,999 loss is 4.999 % and does not trip
    assert cb.update_portfolio_value(95_001.0, -4_999.0, at(0)) is RiskState.ACTIVE
    assert not cb.is_tripped()
    # 5,000 of 100,000 is exactly 5 %: trips
    assert cb.update_portfolio_value(95_000.0, -5_000.0, at(60)) is RiskState.HALTED
    assert cb.is_tripped()
    st = cb.status()
    assert st.trigger == "daily_loss"
    assert st.measured == pytest.approx(0.05)
    assert st.limit == 0.05
    # recovering does not re-arm
    assert cb.update_portfolio_value(101_000.0, 1_000.0, at(120)) is RiskState.HALTED
    assert cb.is_tripped()


def test_daily_loss_is_a_fraction_of_day_start_equity_not_of_current_value() -> None:
    # value 47,500 after a 2,500 loss: day start 50,000, loss 5.0 % (2,500/47,500 would be 5.26 %)
    cb = CircuitBreaker(daily_loss_limit=0.0501, rapid_loss_limit=0.9)
    assert cb.update_portfolio_value(47_500.0, -2_500.0, at(0)) is RiskState.ACTIVE
    cb2 = CircuitBreaker(daily_loss_limit=0.05, rapid_loss_limit=0.9)
    assert cb2.update_portfolio_value(47_500.0, -2_500.0, at(0)) is RiskState.HALTED
    assert cb2.status().measured == pytest.approx(2_500 / 50_000)


def test_rapid_loss_measures_the_drop_from_the_high_of_the_trailing_window() -> None:
    cb = CircuitBreaker(daily_loss_limit=0.5, rapid_loss_limit=0.02, rapid_loss_window=900)
    cb.update_portfolio_value(100_000.0, 0.0, at(0))
    cb.update_portfolio_value(101_000.0, 1_000.0, at(100))  # window high
    cb.update_portfolio_value(99_500.0, -500.0, at(400))  # 1.49 % below the high
    assert not cb.is_tripped()
    # at t = 1,000 s the 101,000 high (t = 100) is still inside the 900 s window:
    # 98,980 is 2.0 % below it
    assert cb.update_portfolio_value(98_980.0, -1_020.0, at(1_000)) is RiskState.REDUCING
    st = cb.status()
    assert st.trigger == "rapid_loss"
    assert st.measured == pytest.approx((101_000 - 98_980) / 101_000)


def test_rapid_loss_forgets_highs_older_than_the_window() -> None:
    cb = CircuitBreaker(daily_loss_limit=0.5, rapid_loss_limit=0.02, rapid_loss_window=900)
    cb.update_portfolio_value(101_000.0, 0.0, at(0))
    cb.update_portfolio_value(100_000.0, 0.0, at(600))
    # 901 s after the 101,000 high it has left the window; the high is now 100,000 (t = 600)
    assert cb.update_portfolio_value(98_990.0, 0.0, at(901)) is RiskState.ACTIVE  # 1.01 % below 100,000
    assert cb.update_portfolio_value(97_999.0, 0.0, at(1_000)) is RiskState.REDUCING  # 2.001 % below


def test_a_slow_decline_does_not_trip_the_rapid_loss_limit() -> None:
    cb = CircuitBreaker(daily_loss_limit=0.5, rapid_loss_limit=0.02, rapid_loss_window=900)
    value = 100_000.0
    for k in range(200):  # -0.5 % every 10 minutes: at most -1 % within any 900 s
        cb.update_portfolio_value(value, 0.0, at(600 * k))
        value *= 0.995
    assert not cb.is_tripped()


def test_state_only_escalates_and_keeps_the_most_severe_reason() -> None:
    cb = CircuitBreaker(daily_loss_limit=0.05, rapid_loss_limit=0.02, rapid_loss_window=900)
    assert cb.update_portfolio_value(97_000.0, -3_000.0, at(0)) is RiskState.ACTIVE
    cb2 = CircuitBreaker(daily_loss_limit=0.05, rapid_loss_limit=0.02, rapid_loss_window=900)
    cb2.update_portfolio_value(100_000.0, 0.0, at(0))
    assert cb2.update_portfolio_value(97_000.0, -3_000.0, at(60)) is RiskState.REDUCING
    assert cb2.update_portfolio_value(94_000.0, -6_000.0, at(120)) is RiskState.HALTED
    assert cb2.status().trigger == "daily_loss"
    # a further rapid loss cannot lower HALTED to REDUCING
    assert cb2.update_portfolio_value(90_000.0, -10_000.0, at(180)) is RiskState.HALTED
    assert [t.state for t in cb2.status().history] == [RiskState.REDUCING, RiskState.HALTED]


def test_configurable_actions() -> None:
    cb = CircuitBreaker(
        0.05, 0.02, 900, daily_loss_state=RiskState.REDUCING, rapid_loss_state=RiskState.HALTED
    )
    cb.update_portfolio_value(100_000.0, 0.0, at(0))
    assert cb.update_portfolio_value(97_900.0, -2_100.0, at(1)) is RiskState.HALTED
    cb = CircuitBreaker(0.05, 0.5, 900, daily_loss_state=RiskState.REDUCING)
    assert cb.update_portfolio_value(90_000.0, -10_000.0, at(1)) is RiskState.REDUCING
    with pytest.raises(ConfigError):
        CircuitBreaker(0.05, 0.02, 900, daily_loss_state=RiskState.ACTIVE)


def test_rearm_via_api_returns_to_active_and_restarts_the_window() -> None:
    cb = CircuitBreaker(daily_loss_limit=0.5, rapid_loss_limit=0.02, rapid_loss_window=900)
    cb.update_portfolio_value(100_000.0, 0.0, at(0))
    cb.update_portfolio_value(97_000.0, 0.0, at(10))
    assert cb.is_tripped()
    with pytest.raises(RiskError):
        cb.rearm("  ")
    st = cb.rearm("reviewed the fills; feed glitch", timestamp=at(20))
    assert st.state is RiskState.ACTIVE and not cb.is_tripped()
    assert st.history[-1].trigger == "rearm" and "feed glitch" in st.history[-1].reason
    # the old 100,000 high no longer counts: 97,000 is the new reference
    assert cb.update_portfolio_value(96_000.0, 0.0, at(30)) is RiskState.ACTIVE


def test_manual_trip_and_clock_timestamps() -> None:
    clock = SimulatedClock(at(0))
    cb = CircuitBreaker(clock=clock)
    cb.update_portfolio_value(100_000.0, 0.0)
    clock.advance(5)
    assert cb.trip(RiskState.HALTED, "operator kill switch") is RiskState.HALTED
    assert cb.status().since == clock.now()
    with pytest.raises(RiskError):
        cb.trip(RiskState.ACTIVE, "no")


def test_bad_input_raises_typed_errors() -> None:
    with pytest.raises(ConfigError):
        CircuitBreaker(daily_loss_limit=0.0)
    with pytest.raises(ConfigError):
        CircuitBreaker(rapid_loss_limit=1.5)
    with pytest.raises(ConfigError):
        CircuitBreaker(rapid_loss_window=0)
    cb = CircuitBreaker()
    with pytest.raises(RiskError):
        cb.update_portfolio_value(float("nan"), 0.0, at(0))
    cb.update_portfolio_value(100.0, 0.0, at(10))
    with pytest.raises(RiskError):
        cb.update_portfolio_value(100.0, 0.0, at(5))


def test_persistence_a_new_instance_starts_tripped(tmp_path: Path) -> None:
    path = tmp_path / "state" / "cb.json"
    cb = CircuitBreaker(daily_loss_limit=0.05, state_file=path)
    assert not path.exists()  # nothing written while nothing changed
    cb.update_portfolio_value(90_000.0, -10_000.0, at(0))
    doc = json.loads(path.read_text())
    assert doc["state"] == "halted" and doc["trigger"] == "daily_loss"
    assert doc["measured"] == pytest.approx(0.1)
    assert not list(path.parent.glob("*.tmp"))  # the temporary file was moved into place

    restarted = CircuitBreaker(daily_loss_limit=0.05, state_file=path)
    assert restarted.is_tripped() and restarted.state is RiskState.HALTED
    # a calm day after the restart does not re-arm
    restarted.update_portfolio_value(100_000.0, 0.0, at(86_400))
    assert restarted.is_tripped()

    restarted.rearm("risk committee approval", timestamp=at(90_000))
    again = CircuitBreaker(daily_loss_limit=0.05, state_file=path)
    assert not again.is_tripped()
    assert [t.trigger for t in again.status().history] == ["daily_loss", "rearm"]


def test_a_rearm_written_by_another_process_is_picked_up(tmp_path: Path) -> None:
    path = tmp_path / "cb.json"
    running = CircuitBreaker(daily_loss_limit=0.05, state_file=path)
    running.update_portfolio_value(90_000.0, -10_000.0, at(0))
    assert running.is_tripped()
    CircuitBreaker(daily_loss_limit=0.05, state_file=path).rearm("operator", timestamp=at(10))
    running.update_portfolio_value(90_000.0, 0.0, at(20))
    assert not running.is_tripped()


def test_unreadable_state_file_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "cb.json"
    path.write_text("{not json")
    with pytest.raises(RiskError, match="not valid JSON"):
        CircuitBreaker(state_file=path)
    path.write_text(json.dumps({"state": "sideways"}))
    with pytest.raises(RiskError, match="malformed"):
        CircuitBreaker(state_file=path)
