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
import math
from datetime import UTC
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from ..batch import RESIZE, OrderBatch, VerdictBatch
from ..clock import SimulatedClock
from ..enums import OrderStatus, RiskDecision, RiskState, Side, Timeframe
from ..errors import AiTradingError
from ..market import BarPanel, History, MarketSlice, to_datetime
from ..models import Instrument, Order
from ..protocols import BatchRiskCheck, BrokerContext, RiskContext, SizingContext
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


def batch_orders(batch: OrderBatch) -> list[Order]:
    """The ``Order`` objects of a batch's rows, as a single-order check sees them: the exact
    quantity (``units`` at ``qty_scale``), side, symbol, strategy, ``reduce_only`` and
    ``notional``; ids derived from ``seq``."""
    when = to_datetime(batch.timestamp)
    out = []
    for r in range(len(batch)):
        seq = int(batch.seq[r])
        notional = float(batch.notional[r])
        out.append(
            Order(
                client_order_id=batch.client_order_id(seq) if batch.client_order_id else f"b{seq}",
                symbol=batch.symbol(r),
                side=Side.BUY if batch.side[r] > 0 else Side.SELL,
                quantity=batch.quantity_decimal(r),
                strategy_id=batch.strategy_ids[int(batch.strategy[r])],
                correlation_id=f"d{seq}",
                created_at=when,
                reduce_only=bool(batch.reduce_only[r]),
                notional=None if math.isnan(notional) else Decimal(repr(notional)),
            )
        )
    return out


def random_batch(
    symbols: tuple[str, ...],
    rng: np.random.Generator,
    size: int,
    *,
    max_units: int = 50_000,
    qty_scale: int = 2,
    timestamp: int = 0,
) -> OrderBatch:
    """A random-ish batch over ``symbols``: repeated symbols, both sides, quantities from one
    step (``10**-qty_scale``) up to ``max_units`` steps, some notional and reduce-only rows."""
    index = rng.integers(0, len(symbols), size)
    units = rng.integers(1, max_units + 1, size)
    notional = np.where(rng.random(size) < 0.2, np.round(rng.uniform(100, 10_000, size), 2), np.nan)
    return OrderBatch(
        symbols=symbols,
        index=index.astype(np.int64),
        side=np.where(rng.random(size) < 0.5, 1, -1).astype(np.int8),
        quantity=units / float(10**qty_scale),
        units=units.astype(np.int64),
        qty_scale=qty_scale,
        notional=notional,
        reduce_only=rng.random(size) < 0.1,
        seq=np.arange(size, dtype=np.int64),
        strategy=np.zeros(size, dtype=np.int16),
        strategy_ids=("contract",),
        timestamp=timestamp,
    )


def assert_batch_agrees(check: Any, batch: OrderBatch, ctx: RiskContext) -> VerdictBatch:
    """Assert that ``check.check_batch(batch, ctx)`` gives, row by row, what ``check.check``
    gives on the same orders: decision, approved quantity (to the float), reason, measured
    value and limit. Returns the batch verdicts."""
    got = check.check_batch(batch, ctx)
    orders = batch_orders(batch)
    want = VerdictBatch.from_verdicts(check.name, list(check.check(orders, ctx)))
    assert isinstance(got, VerdictBatch) and got.check == check.name
    assert len(got) == len(batch) == len(want)
    for r in range(len(batch)):
        where = f"row {r} ({orders[r].side.value} {orders[r].quantity} {orders[r].symbol})"
        assert got.decision[r] == want.decision[r], f"{where}: decision {got.decision[r]} != {want.decision[r]}"
        assert got.reasons.get(r, "") == want.reasons.get(r, ""), f"{where}: reason differs"
        if got.decision[r] == RESIZE:
            assert got.approved[r] == want.approved[r], f"{where}: approved {got.approved[r]} != {want.approved[r]}"
            assert 0 <= got.approved[r] <= batch.quantity[r]
        assert got.measured.get(r) == want.measured.get(r), f"{where}: measured differs"
        assert got.limits.get(r) == want.limits.get(r), f"{where}: limit differs"
    return got


class BatchRiskCheckContract(RiskCheckContract):
    """For a risk check with ``check_batch``: everything :class:`RiskCheckContract` asks,
    and ``check_batch`` agreeing with ``check`` row by row on random-ish batches. Needs a
    ``risk_check`` fixture; override :meth:`batch_contexts` (and ``max_units``) to reach the
    check's interesting cases (resizes, rejections, reducing orders)."""

    max_units = 50_000  # largest order, in steps of 0.01 units
    rows = 40

    def batch_contexts(self) -> list[RiskContext]:
        """Portfolios to check batches against: flat, and random long and short positions."""
        rng = np.random.default_rng(17)
        flat = self.context()
        held = self.context(positions=np.round(rng.uniform(-200, 200, len(flat.symbols)), 2))
        return [flat, held]

    def test_check_batch_matches_check(self, risk_check: Any) -> None:
        assert isinstance(risk_check, BatchRiskCheck)
        rng = np.random.default_rng(23)
        decisions: set[int] = set()
        for ctx in self.batch_contexts():
            risk_check.update(ctx)
            for scale in (2, 0):
                units = self.max_units if scale == 2 else max(self.max_units // 100, 1)
                batch = random_batch(
                    ctx.symbols, rng, self.rows, max_units=units, qty_scale=scale, timestamp=ctx.timestamp
                )
                decisions.update(assert_batch_agrees(risk_check, batch, ctx).decision.tolist())
        assert decisions, "no verdict was compared"

    def test_check_batch_unknown_symbol(self, risk_check: Any) -> None:
        """A batch whose universe has a symbol the context does not know."""
        ctx = self.batch_contexts()[-1]
        risk_check.update(ctx)
        symbols = ctx.symbols + ("ZZZ_UNKNOWN",)
        rng = np.random.default_rng(5)
        batch = random_batch(symbols, rng, self.rows, max_units=self.max_units, timestamp=ctx.timestamp)
        assert_batch_agrees(risk_check, batch, ctx)

    def test_check_batch_empty(self, risk_check: Any) -> None:
        ctx = self.context()
        batch = random_batch(ctx.symbols, np.random.default_rng(1), 0, timestamp=ctx.timestamp)
        assert len(risk_check.check_batch(batch, ctx)) == 0


class BrokerContract:
    """Needs a ``broker`` fixture (not yet connected); the suite connects it to a
    three-symbol universe ``AAA``, ``BBB``, ``CCC``."""

    symbols = ("AAA", "BBB", "CCC")

    def _connect(self, broker: Any) -> Any:
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
        return broker

    @pytest.fixture
    def connected(self, broker: Any) -> Any:
        yield self._connect(broker)
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


class BatchBrokerContract(BrokerContract):
    """For a broker with ``accepts_batches`` (see ``protocols.BatchBroker``): a batch of
    market orders fills in the next bar exactly as the same orders sent one by one (price,
    quantity, commission), and ``cancel_rows`` takes resting rows back. Needs a ``make_broker``
    fixture: a callable returning a new, unconnected broker, all configured alike."""

    @pytest.fixture
    def broker(self, make_broker: Any) -> Any:
        return make_broker()

    def _batch(self) -> Any:
        n = len(self.symbols)
        units = np.array([10, 3, 7][:n], dtype=np.int64)
        return OrderBatch(
            symbols=self.symbols, index=np.arange(n, dtype=np.int64), side=np.array([1, -1, 1][:n], dtype=np.int8),
            quantity=units.astype(np.float64), units=units, qty_scale=0, notional=np.full(n, np.nan),
            reduce_only=np.zeros(n, dtype=bool), seq=np.arange(1, n + 1, dtype=np.int64),
            strategy=np.zeros(n, dtype=np.int16), strategy_ids=("contract",), timestamp=0,
        )

    def _bar(self) -> MarketSlice:
        n = len(self.symbols)
        o = np.array([100.25, 51.5, 20.75][:n])
        return MarketSlice(86_400 * 10**9, self.symbols, o, o * 1.01, o * 0.99, o, np.full(n, 1e6))

    def test_batch_fills_as_single_orders(self, broker: Any, make_broker: Any) -> None:
        batch = self._batch()
        columns = self._connect(broker)
        assert columns.accepts_batches
        columns.submit_batch(batch, np.arange(len(batch)))
        got = columns.on_market(self._bar()).batch
        assert got is not None and got.fills is not None and len(got.fills) == len(batch)
        f = got.fills
        for j in range(len(f)):
            row = int(f.row[j])
            single = self._connect(make_broker())
            single.submit_order(
                Order(
                    client_order_id=f"contract-{row}", symbol=self.symbols[int(batch.index[row])],
                    side=Side.BUY if batch.side[row] > 0 else Side.SELL, quantity=batch.quantity_decimal(row),
                    created_at=to_datetime(0).astimezone(UTC),
                )
            )
            (ref,) = single.on_market(self._bar()).fills
            assert Decimal(int(f.price[j])).scaleb(-f.price_scale) == ref.price
            assert Decimal(int(f.units[j])).scaleb(-f.qty_scale) == ref.quantity
            assert Decimal(f.commission[j]).scaleb(-f.money_scale) == ref.commission

    def test_cancel_rows(self, broker: Any) -> None:
        columns = self._connect(broker)
        columns.submit_batch(self._batch(), np.array([5, 6, 7]))
        assert sorted(columns.cancel_rows([6, 7, 99])) == [6, 7]
        nan = np.full(len(self.symbols), np.nan)
        quiet = columns.on_market(MarketSlice(0, self.symbols, nan, nan, nan, nan, nan)).batch
        assert quiet is None or quiet.fills is None  # no prices: the row rests
        got = columns.on_market(self._bar()).batch
        assert got is not None and got.fills is not None and got.fills.row.tolist() == [5]


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
    "BatchBrokerContract",
    "BatchRiskCheckContract",
    "BrokerContract",
    "DataSourceContract",
    "ReporterContract",
    "RiskCheckContract",
    "SizerContract",
    "StrategyContract",
    "assert_batch_agrees",
    "batch_orders",
    "random_batch",
]
