"""Contract suites: one per role. A plugin's tests subclass the suite and provide the
fixture it asks for; every first- and third-party plugin of a role must pass it::

    from ai_trading_core.testing.contracts import StrategyContract

    class TestMyStrategy(StrategyContract):
        @pytest.fixture
        def strategy(self):
            return MyStrategy(MyParams())
"""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from ..clock import SimulatedClock
from ..enums import OrderStatus, RiskDecision, RiskState, Side, Timeframe
from ..errors import AiTradingError
from ..market import BarPanel, History, to_datetime
from ..models import Instrument, Order
from ..protocols import BrokerContext, RiskContext, SizingContext
from .synthetic import random_walk_panel


def _panel() -> BarPanel:
    return random_walk_panel(260, 4, seed=11)


def _history(panel: BarPanel, upto: int, capacity: int = 300) -> History:
    h = History(capacity, len(panel.symbols))
    for i in range(upto + 1):
        h.push(panel.slice_at(i))
    return h


class StrategyContract:
    """Needs a ``strategy`` fixture: a fresh, unprepared strategy instance."""

    panel = staticmethod(_panel)

    def _run(self, strategy: Any, panel: BarPanel) -> np.ndarray:
        strategy.prepare(panel.symbols, panel.timeframe)
        h = History(max(getattr(strategy, "warmup", 0) + 1, 2), len(panel.symbols))
        rows = []
        for i in range(len(panel.timestamps)):
            m = panel.slice_at(i)
            h.push(m)
            rows.append(np.array(strategy.on_slice(m, h), dtype=float, copy=True))
        return np.vstack(rows)

    def test_has_identity(self, strategy: Any) -> None:
        assert isinstance(strategy.strategy_id, str) and strategy.strategy_id
        assert isinstance(strategy.warmup, int) and strategy.warmup >= 0

    def test_targets_shape_and_range(self, strategy: Any) -> None:
        panel = self.panel()
        out = self._run(strategy, panel)
        assert out.shape == panel.shape
        finite = out[np.isfinite(out)]
        assert finite.size > 0, "strategy never produced a target"
        assert np.all((finite >= -1.0) & (finite <= 1.0))

    def test_deterministic(self, strategy: Any, request: pytest.FixtureRequest) -> None:
        panel = self.panel()
        first = self._run(strategy, panel)
        again = self._run(request.getfixturevalue("strategy"), panel)
        np.testing.assert_array_equal(first, again)

    def test_no_lookahead(self, strategy: Any, request: pytest.FixtureRequest) -> None:
        """Targets up to T do not change when bars after T are altered."""
        panel = self.panel()
        cut = len(panel.timestamps) * 2 // 3
        base = self._run(strategy, panel)
        altered = BarPanel(
            symbols=panel.symbols,
            timestamps=panel.timestamps,
            open=_alter(panel.open, cut),
            high=_alter(panel.high, cut, 1.5),
            low=_alter(panel.low, cut, 0.5),
            close=_alter(panel.close, cut),
            volume=_alter(panel.volume, cut),
            timeframe=panel.timeframe,
            instruments=panel.instruments,
        )
        other = self._run(request.getfixturevalue("strategy"), altered)
        np.testing.assert_array_equal(base[: cut + 1], other[: cut + 1])

    def test_block_matches_per_bar(self, strategy: Any, request: pytest.FixtureRequest) -> None:
        if not hasattr(strategy, "signal_block"):
            pytest.skip("strategy has no signal_block")
        panel = self.panel()
        per_bar = self._run(strategy, panel)
        fresh = request.getfixturevalue("strategy")
        fresh.prepare(panel.symbols, panel.timeframe)
        np.testing.assert_allclose(fresh.signal_block(panel), per_bar, rtol=0, atol=1e-12, equal_nan=True)


def _alter(a: np.ndarray, cut: int, factor: float = 1.3) -> np.ndarray:
    out = a.copy()
    out[cut + 1 :] *= factor
    return out


class SizerContract:
    """Needs a ``sizer`` fixture."""

    def context(self, equity: float = 100_000.0) -> SizingContext:
        panel = _panel()
        t = len(panel.timestamps) - 1
        return SizingContext(
            timestamp=int(panel.timestamps[t]),
            symbols=panel.symbols,
            prices=panel.close[t].copy(),
            equity=equity,
            cash=equity,
            positions=np.zeros(len(panel.symbols)),
            history=_history(panel, t),
            instruments=[panel.instrument(s) for s in panel.symbols],
            timeframe=panel.timeframe,
        )

    def test_shape_and_nan_passthrough(self, sizer: Any) -> None:
        ctx = self.context()
        targets = np.array([1.0, np.nan, -0.5, 0.0])
        out = np.asarray(sizer.target_positions(targets, ctx), dtype=float)
        assert out.shape == targets.shape
        assert np.isnan(out[1]), "NaN target must keep the position (NaN units)"

    def test_zero_strength_is_flat(self, sizer: Any) -> None:
        out = np.asarray(sizer.target_positions(np.zeros(4), self.context()), dtype=float)
        assert np.all((out == 0) | np.isnan(out))

    def test_sign_follows_strength(self, sizer: Any) -> None:
        out = np.asarray(sizer.target_positions(np.array([1.0, -1.0, 1.0, -1.0]), self.context()), dtype=float)
        finite = np.isfinite(out)
        assert finite.any(), "sizer gave no target for any symbol"
        assert np.all(np.sign(out[finite]) * np.sign(np.array([1.0, -1.0, 1.0, -1.0])[finite]) >= 0)

    def test_missing_price_gives_nan(self, sizer: Any) -> None:
        ctx = self.context()
        ctx.prices[0] = np.nan
        out = np.asarray(sizer.target_positions(np.ones(4), ctx), dtype=float)
        assert np.isnan(out[0])


class RiskCheckContract:
    """Needs a ``risk_check`` fixture."""

    def context(self, positions: np.ndarray | None = None, state: RiskState = RiskState.ACTIVE) -> RiskContext:
        panel = _panel()
        t = len(panel.timestamps) - 1
        n = len(panel.symbols)
        return RiskContext(
            timestamp=int(panel.timestamps[t]),
            symbols=panel.symbols,
            prices=panel.close[t].copy(),
            positions=np.zeros(n) if positions is None else positions,
            equity=100_000.0,
            cash=100_000.0,
            peak_equity=100_000.0,
            day_start_equity=100_000.0,
            history=_history(panel, t),
            state=state,
            symbol_index={s: i for i, s in enumerate(panel.symbols)},
        )

    def orders(self, *quantities: int) -> list[Order]:
        panel = _panel()
        return [
            Order(
                client_order_id=f"c{k}",
                symbol=panel.symbols[k % len(panel.symbols)],
                side=Side.BUY if q > 0 else Side.SELL,
                quantity=Decimal(abs(q)),
                created_at=to_datetime(0),
                correlation_id=f"d{k}",
            )
            for k, q in enumerate(quantities)
        ]

    def test_one_verdict_per_order(self, risk_check: Any) -> None:
        orders = self.orders(10, -5, 3)
        verdicts = list(risk_check.check(orders, self.context()))
        assert len(verdicts) == len(orders)
        for order, v in zip(orders, verdicts, strict=True):
            assert v.decision in tuple(RiskDecision)
            if v.decision is RiskDecision.RESIZE:
                assert v.approved_quantity is not None and Decimal(0) <= v.approved_quantity <= order.quantity

    def test_no_orders(self, risk_check: Any) -> None:
        assert list(risk_check.check([], self.context())) == []

    def test_update_returns_request_or_none(self, risk_check: Any) -> None:
        req = risk_check.update(self.context())
        assert req is None or req.state in tuple(RiskState)


class BrokerContract:
    """Needs a ``broker`` fixture (not yet connected); the suite connects it to a
    three-symbol universe ``AAA``, ``BBB``, ``CCC``."""

    symbols = ("AAA", "BBB", "CCC")

    @pytest.fixture
    def connected(self, broker: Any) -> Any:
        broker.connect(
            BrokerContext(
                instruments={s: Instrument(symbol=s) for s in self.symbols},
                symbols=self.symbols,
                initial_cash=Decimal(100_000),
                currency="USD",
                timeframe=Timeframe.D1,
                clock=SimulatedClock(0),
            )
        )
        yield broker
        broker.close()

    def order(self, coid: str = "contract-1", qty: str = "10") -> Order:
        return Order(
            client_order_id=coid,
            symbol="AAA",
            side=Side.BUY,
            quantity=Decimal(qty),
            created_at=to_datetime(0).astimezone(UTC),
        )

    def test_submit_is_idempotent(self, connected: Any) -> None:
        first = connected.submit_order(self.order())
        second = connected.submit_order(self.order())
        assert first.client_order_id == second.client_order_id == "contract-1"
        assert second.status is not OrderStatus.REJECTED or first.status is OrderStatus.REJECTED

    def test_lookup_unknown_is_none(self, connected: Any) -> None:
        assert connected.lookup_order("never-sent") is None

    def test_lookup_known(self, connected: Any) -> None:
        connected.submit_order(self.order("contract-2"))
        found = connected.lookup_order("contract-2")
        assert found is not None and found.client_order_id == "contract-2"

    def test_cancel(self, connected: Any) -> None:
        connected.submit_order(self.order("contract-3"))
        upd = connected.cancel_order("contract-3")
        assert upd.status in (OrderStatus.CANCELLED, OrderStatus.CANCEL_PENDING, OrderStatus.FILLED)


class DataSourceContract:
    """Needs a ``data_source`` fixture."""

    def test_panel_is_valid(self, data_source: Any) -> None:
        panel = data_source.load()
        assert isinstance(panel, BarPanel)
        t, n = panel.shape
        assert t > 0 and n > 0
        assert np.all(np.diff(panel.timestamps) > 0)
        assert set(panel.instruments) == set(panel.symbols)
        finite = np.isfinite(panel.close)
        assert np.all(panel.close[finite] > 0)
        ok = finite & np.isfinite(panel.high) & np.isfinite(panel.low)
        assert np.all(panel.low[ok] <= panel.high[ok])

    def test_range_is_inclusive(self, data_source: Any) -> None:
        full = data_source.load()
        if len(full.timestamps) < 3:
            pytest.skip("too few bars")
        start, end = to_datetime(full.timestamps[1]), to_datetime(full.timestamps[-2])
        part = data_source.load(start, end)
        assert part.timestamps[0] == full.timestamps[1] and part.timestamps[-1] == full.timestamps[-2]


class ReporterContract:
    """Needs a ``reporter`` fixture and a ``run_result`` fixture (a RunResult)."""

    def test_report_is_json(self, reporter: Any, run_result: Any) -> None:
        section = reporter.report(run_result)
        json.dumps({"m": section.metrics, "a": section.attribution}, allow_nan=False, default=str)

    def test_render(self, reporter: Any, run_result: Any) -> None:
        from rich.console import Console

        console = Console(record=True, width=120)
        reporter.render(run_result, reporter.report(run_result), console)
        assert console.export_text().strip()


__all__ = [
    "AiTradingError",
    "BrokerContract",
    "DataSourceContract",
    "ReporterContract",
    "RiskCheckContract",
    "SizerContract",
    "StrategyContract",
]
