"""The ``portfolio_limits`` check on hand-worked portfolios: exposures, concentration,
clusters, VaR, drawdown, batches, resizes and rejections."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from ai_trading_risk_limits import (
    PortfolioLimits,
    PortfolioLimitsParams,
    RiskMonitor,
    historical_var,
    lot_of,
    parametric_var,
)

from ai_trading_core.enums import RiskDecision, RiskState, Side
from ai_trading_core.market import History, MarketSlice, to_datetime
from ai_trading_core.models import Order, Signal, utc
from ai_trading_core.protocols import RiskCheck, RiskContext

DAY = 86_400 * 1_000_000_000
T0 = int(utc(2020, 1, 1).timestamp()) * 1_000_000_000


def context(
    prices: list[float],
    positions: list[float],
    equity: float,
    *,
    closes: np.ndarray | None = None,
    peak: float | None = None,
    symbols: tuple[str, ...] | None = None,
) -> RiskContext:
    n = len(prices)
    symbols = symbols or tuple("ABCDEFGH"[:n])
    rows = closes if closes is not None else np.array([prices, prices], dtype=float)
    history = History(len(rows), n)
    for t, row in enumerate(rows):
        r = np.asarray(row, dtype=float)
        history.push(MarketSlice(T0 + t * DAY, symbols, r, r, r, r, np.zeros(n)))
    return RiskContext(
        timestamp=T0 + (len(rows) - 1) * DAY,
        symbols=symbols,
        prices=np.array(prices, dtype=float),
        positions=np.array(positions, dtype=float),
        equity=equity,
        cash=equity,
        peak_equity=peak if peak is not None else equity,
        day_start_equity=equity,
        history=history,
        state=RiskState.ACTIVE,
        symbol_index={s: i for i, s in enumerate(symbols)},
    )


def order(symbol: str, side: Side, qty: str, n: int = 0) -> Order:
    return Order(
        client_order_id=f"o{n}",
        symbol=symbol,
        side=side,
        quantity=Decimal(qty),
        correlation_id=f"c{n}",
        created_at=utc(2020, 1, 1),
    )


def test_is_a_risk_check_with_one_verdict_per_order_in_order() -> None:
    check = PortfolioLimits(PortfolioLimitsParams(max_gross_exposure=1.0))
    assert isinstance(check, RiskCheck)
    ctx = context([100.0, 50.0], [0.0, 0.0], 10_000.0)
    orders = [order("A", Side.BUY, "10", 0), order("B", Side.SELL, "5", 1)]
    verdicts = check.check(orders, ctx)
    assert [v.client_order_id for v in verdicts] == ["o0", "o1"]
    assert [v.correlation_id for v in verdicts] == ["c0", "c1"]
    assert all(v.check == "portfolio_limits" and v.timestamp == to_datetime(ctx.timestamp) for v in verdicts)
    assert [v.decision for v in verdicts] == [RiskDecision.APPROVE, RiskDecision.APPROVE]
    # the approval names the most used limit: gross (1,000 + 250) / 10,000
    assert verdicts[1].measured == pytest.approx(0.125) and verdicts[1].limit == 1.0
    assert check.check([], ctx) == []


def test_gross_exposure_resize_hand_worked() -> None:
    # equity 10,000; long 80 A at 100 = 8,000 (gross 0.8). Buying 30 B at 100 would make 1.1:
    # the largest allowed is 20 B (gross exactly 1.0)
    check = PortfolioLimits(PortfolioLimitsParams(max_gross_exposure=1.0))
    ctx = context([100.0, 100.0], [80.0, 0.0], 10_000.0)
    (v,) = check.check([order("B", Side.BUY, "30")], ctx)
    assert v.decision is RiskDecision.RESIZE
    assert v.approved_quantity == Decimal("20") and v.requested_quantity == Decimal("30")
    assert v.measured == pytest.approx(1.1) and v.limit == 1.0
    assert "gross_exposure" in v.reason
    # with a 0.01 lot the answer is the same quantity, expressed in that lot
    (v,) = check.check([order("B", Side.BUY, "30.00")], ctx)
    assert v.approved_quantity == Decimal("20.00")
    # a short sale adds to gross exposure just as much
    (v,) = check.check([order("B", Side.SELL, "25")], ctx)
    assert v.approved_quantity == Decimal("20")


def test_net_exposure_and_leverage() -> None:
    # long 60 A at 100 (6,000), short 40 B at 50 (-2,000): gross 0.8, net 0.4 of 10,000
    params = PortfolioLimitsParams(max_net_exposure=0.5, max_leverage=1.5)
    ctx = context([100.0, 50.0], [60.0, -40.0], 10_000.0)
    check = PortfolioLimits(params)
    # buying 30 A (+3,000): net 0.7 > 0.5 -> 10 A (net exactly 0.5)
    (v,) = check.check([order("A", Side.BUY, "30")], ctx)
    assert (v.decision, v.approved_quantity) == (RiskDecision.RESIZE, Decimal("10"))
    assert v.measured == pytest.approx(0.7)
    # shorting 200 more B (short 240, -12,000): gross 1.8 > 1.5. Leverage allows |B value| <=
    # 15,000 - 6,000 = 9,000, a short of 180 B, so 140 more; net is then -0.3, within 0.5
    (v,) = check.check([order("B", Side.SELL, "200")], ctx)
    assert (v.decision, v.approved_quantity) == (RiskDecision.RESIZE, Decimal("140"))
    assert v.measured == pytest.approx(1.8) and "leverage" in v.reason


def test_position_weight_and_reducing_orders() -> None:
    check = PortfolioLimits(PortfolioLimitsParams(max_position_weight=0.25, max_gross_exposure=2.0))
    ctx = context([10.0, 10.0], [300.0, 0.0], 10_000.0)  # A weighs 0.30: already over
    v_buy, v_sell, v_flip = check.check(
        [order("A", Side.BUY, "1", 0), order("A", Side.SELL, "100", 1), order("B", Side.BUY, "300", 2)],
        ctx,
    )
    assert v_buy.decision is RiskDecision.REJECT and v_buy.approved_quantity == 0
    assert v_sell.decision is RiskDecision.APPROVE  # reducing: always approved
    assert (v_flip.decision, v_flip.approved_quantity) == (RiskDecision.RESIZE, Decimal("250"))
    # a flip from long 300 A to short 300 A: the close (300) always passes, then 250 short
    (v,) = check.check([order("A", Side.SELL, "600")], ctx)
    assert (v.decision, v.approved_quantity) == (RiskDecision.RESIZE, Decimal("550"))


def test_orders_of_one_batch_see_each_other() -> None:
    check = PortfolioLimits(PortfolioLimitsParams(max_gross_exposure=1.0))
    ctx = context([100.0, 100.0, 100.0], [0.0, 0.0, 0.0], 10_000.0)
    verdicts = check.check(
        [order("A", Side.BUY, "60", 0), order("B", Side.BUY, "60", 1), order("C", Side.BUY, "10", 2)],
        ctx,
    )
    assert [v.decision for v in verdicts] == [RiskDecision.APPROVE, RiskDecision.RESIZE, RiskDecision.REJECT]
    assert verdicts[1].approved_quantity == Decimal("40")


def test_drawdown_allows_only_reducing_orders() -> None:
    check = PortfolioLimits(PortfolioLimitsParams(max_drawdown=0.2))
    ctx = context([100.0, 100.0], [50.0, 0.0], 10_000.0, peak=13_000.0)  # drawdown 23 %
    v_add, v_new, v_cut, v_flip = check.check(
        [
            order("A", Side.BUY, "1", 0),
            order("B", Side.SELL, "1", 1),
            order("A", Side.SELL, "20", 2),
            order("A", Side.SELL, "80", 3),
        ],
        ctx,
    )
    assert v_add.decision is RiskDecision.REJECT and v_new.decision is RiskDecision.REJECT
    assert v_add.measured == pytest.approx(1 - 10_000 / 13_000) and v_add.limit == 0.2
    assert v_cut.decision is RiskDecision.APPROVE
    # after the cut 30 A remain: the flip is cut to the close
    assert (v_flip.decision, v_flip.approved_quantity) == (RiskDecision.RESIZE, Decimal("30"))


def test_correlation_cluster_limit() -> None:
    rng = np.random.default_rng(7)
    common = rng.normal(0, 0.01, 60)
    # A and B move together (correlation ~0.99); C is independent
    rets = np.column_stack(
        [common + rng.normal(0, 0.001, 60), common + rng.normal(0, 0.001, 60), rng.normal(0, 0.01, 60)]
    )
    closes = 100 * np.vstack([np.ones(3), np.cumprod(1 + rets, axis=0)])
    prices = closes[-1].tolist()
    equity = 10_000.0
    units_a = 3_000 / prices[0]
    ctx = context(prices, [units_a, 0.0, 0.0], equity, closes=closes)
    check = PortfolioLimits(PortfolioLimitsParams(correlation_threshold=0.8, max_cluster_weight=0.4))
    # B joins A's cluster: at most 0.4 - 0.3 = 0.1 of equity, 1,000 / price_B units
    (v,) = check.check([order("B", Side.BUY, "50")], ctx)
    assert v.decision is RiskDecision.RESIZE
    assert v.approved_quantity == Decimal(int(1_000 / prices[1]))
    # C is a cluster of its own: 0.35 passes
    (v,) = check.check([order("C", Side.BUY, str(int(3_500 / prices[2])))], ctx)
    assert v.decision is RiskDecision.APPROVE
    monitor = RiskMonitor(PortfolioLimitsParams(correlation_threshold=0.8, max_cluster_weight=0.4))
    figures = monitor.update(ctx)
    assert figures.clusters == [(["A", "B"], pytest.approx(0.3))]


def _pair_context(rho: float, position_a: float, equity: float = 10_000.0) -> tuple[RiskContext, list[float]]:
    """A held long (``position_a`` of equity) and a second symbol with correlation ``rho`` to
    A: +1 (B moves with A, plus tiny noise) or -1 (D = A's returns negated exactly)."""
    rng = np.random.default_rng(11)
    r = rng.normal(0, 0.01, 60)
    other = r + rng.normal(0, 0.0005, 60) if rho > 0 else -r
    closes = 100 * np.vstack([np.ones(2), np.cumprod(1 + np.column_stack([r, other]), axis=0)])
    prices = closes[-1].tolist()
    second = "B" if rho > 0 else "D"
    ctx = context(prices, [position_a * equity / prices[0], 0.0], equity, closes=closes, symbols=("A", second))
    return ctx, prices


def test_correlation_limit_catches_a_short_in_an_anti_correlated_asset() -> None:
    ctx, prices = _pair_context(-1.0, 0.3)
    params = PortfolioLimitsParams(correlation_threshold=0.8, max_cluster_weight=0.4)
    check = PortfolioLimits(params)
    # selling D (rho = -1 with A) for 0.3 of equity is the same bet as buying 0.3 more of A:
    # the cluster's signed exposure would be 0.6 > 0.4, so only 0.1 of equity passes
    (v,) = check.check([order("D", Side.SELL, str(int(3_000 / prices[1])))], ctx)
    assert v.decision is RiskDecision.RESIZE, v.reason
    assert v.approved_quantity == Decimal(int(1_000 / prices[1]))
    assert "cluster_weight" in v.reason and v.measured == pytest.approx(0.6, abs=1e-3)
    # buying D hedges A: approved, the signed exposure falls to 0.3 - 0.25 = 0.05
    (v,) = check.check([order("D", Side.BUY, str(int(2_500 / prices[1])))], ctx)
    assert v.decision is RiskDecision.APPROVE
    # the live monitor reports the same signed figure for the doubled book
    figures = RiskMonitor(params).update(_with_positions(ctx, [float(ctx.positions[0]), -3_000 / prices[1]]))
    assert figures.clusters == [(["A", "D"], pytest.approx(0.6))]


def test_correlation_limit_does_not_penalise_a_hedge() -> None:
    ctx, prices = _pair_context(1.0, 0.3)
    check = PortfolioLimits(PortfolioLimitsParams(correlation_threshold=0.8, max_cluster_weight=0.4))
    # selling B (moves with A) for 0.5 of equity leaves a net -0.2 bet on the cluster: a hedge
    # and then some, within 0.4; summing |values| (0.8) would have cut it to 0.1
    (v,) = check.check([order("B", Side.SELL, str(int(5_000 / prices[1])))], ctx)
    assert v.decision is RiskDecision.APPROVE, v.reason
    # a sale of 0.8 of equity would leave -0.5: resized to the 0.7 that keeps -0.4
    (v,) = check.check([order("B", Side.SELL, str(int(8_000 / prices[1])))], ctx)
    assert v.decision is RiskDecision.RESIZE
    assert v.approved_quantity == Decimal(int(7_000 / prices[1]))


def _with_positions(ctx: RiskContext, positions: list[float]) -> RiskContext:
    return RiskContext(
        timestamp=ctx.timestamp,
        symbols=ctx.symbols,
        prices=ctx.prices,
        positions=np.array(positions, dtype=float),
        equity=ctx.equity,
        cash=ctx.cash,
        peak_equity=ctx.peak_equity,
        day_start_equity=ctx.day_start_equity,
        history=ctx.history,
        state=ctx.state,
        symbol_index=ctx.symbol_index,
    )


def _single_asset_context(rets: np.ndarray, units: float, equity: float) -> RiskContext:
    closes = 100 * np.concatenate([[1.0], np.cumprod(1 + rets)])
    return context([float(closes[-1])], [units], equity, closes=closes[:, None])


def test_historical_var_limit_resizes_to_the_largest_lot_count() -> None:
    rng = np.random.default_rng(3)
    rets = rng.normal(0, 0.02, 100)
    equity = 100_000.0
    ctx = _single_asset_context(rets, 0.0, equity)
    price = float(ctx.prices[0])
    var95 = historical_var(rets, 0.95)  # per unit of value held long
    params = PortfolioLimitsParams(var_95=0.01, lookback=100)
    check = PortfolioLimits(params)
    # the VaR of a long position worth V is V * var95: allowed V <= 0.01 * equity / var95
    allowed_units = 0.01 * equity / var95 / price
    (v,) = check.check([order("A", Side.BUY, "1000")], ctx)
    assert v.decision is RiskDecision.RESIZE
    assert v.approved_quantity == Decimal(int(allowed_units))
    assert v.measured == pytest.approx(1000 * price * var95 / equity)
    assert "var_95_historical" in v.reason


def test_parametric_var_limit() -> None:
    rng = np.random.default_rng(4)
    rets = rng.normal(0, 0.015, 250)
    equity = 50_000.0
    ctx = _single_asset_context(rets, 0.0, equity)
    price = float(ctx.prices[0])
    sd = float(np.std(rets, ddof=1))
    check = PortfolioLimits(PortfolioLimitsParams(var_99=0.02, var_methods=["parametric"]))
    allowed_value = 0.02 * equity / parametric_var(0.0, sd, 0.99)
    (v,) = check.check([order("A", Side.BUY, "10000.0000")], ctx)
    assert v.decision is RiskDecision.RESIZE
    assert float(v.approved_quantity) == pytest.approx(allowed_value / price, abs=1e-4)
    assert float(v.approved_quantity) <= allowed_value / price


def test_too_little_history_rejects_new_risk_but_not_reductions() -> None:
    check = PortfolioLimits(PortfolioLimitsParams(var_95=0.05, min_observations=20))
    ctx = context([100.0], [10.0], 10_000.0)  # one return only
    v_buy, v_sell = check.check([order("A", Side.BUY, "1", 0), order("A", Side.SELL, "5", 1)], ctx)
    assert v_buy.decision is RiskDecision.REJECT and v_buy.measured is None
    assert v_sell.decision is RiskDecision.APPROVE
    assert check.warmup == 251


def test_unvaluable_orders_are_rejected() -> None:
    check = PortfolioLimits(PortfolioLimitsParams(max_gross_exposure=1.0))
    ctx = context([float("nan"), 100.0], [0.0, 0.0], 10_000.0)
    v_nan, v_unknown = check.check([order("A", Side.BUY, "1", 0), order("Z", Side.BUY, "1", 1)], ctx)
    assert v_nan.decision is RiskDecision.REJECT and "cannot value" in v_nan.reason
    assert v_unknown.decision is RiskDecision.REJECT and "unknown symbol" in v_unknown.reason


def test_estimates_are_computed_once_per_timestamp() -> None:
    check = PortfolioLimits(
        PortfolioLimitsParams(var_95=0.05, var_methods=["historical", "parametric"], min_observations=2)
    )
    ctx = context([100.0, 50.0], [1.0, 1.0], 10_000.0, closes=np.array([[100, 50], [101, 49], [99, 51.0]]))
    check.update(ctx)
    first = check.estimates(ctx)
    check.check([order("A", Side.BUY, "1")], ctx)
    assert check.estimates(ctx) is first


def test_lot_of() -> None:
    assert lot_of(Decimal("12")) == Decimal("1")
    assert lot_of(Decimal("12.50")) == Decimal("0.01")
    assert lot_of(Decimal("0.0003")) == Decimal("0.0001")
    assert lot_of(Decimal("1E+2")) == Decimal("1")
    check = PortfolioLimits(PortfolioLimitsParams(max_gross_exposure=1.0, lot_sizes={"B": Decimal("5")}))
    ctx = context([100.0, 100.0], [80.0, 0.0], 10_000.0)
    (v,) = check.check([order("B", Side.BUY, "33")], ctx)
    assert v.approved_quantity == Decimal("20")


def test_monitor_figures_and_check_trade_signal() -> None:
    params = PortfolioLimitsParams(max_gross_exposure=1.0, max_position_weight=0.4)
    monitor = RiskMonitor(params)
    ctx = context([100.0, 50.0, 20.0], [10.0, -20.0, 0.0], 2_000.0, peak=2_500.0)
    f = monitor.update(ctx)
    # values 1,000, -1,000, 0 of equity 2,000
    assert (f.gross_exposure, f.net_exposure, f.leverage) == (1.0, 0.0, 1.0)
    assert f.drawdown == pytest.approx(0.2)
    assert f.largest_position == "A" and f.largest_position_weight == 0.5
    assert [b.name for b in f.breaches] == ["position_weight"]
    signal = Signal(strategy_id="s", symbol="C", timestamp=utc(2020, 1, 2), strength=0.25)
    answer = monitor.check_trade_signal(signal)  # target 0.25 x 2,000 / 20 = 25 C: gross 1.25
    assert answer.decision is RiskDecision.REJECT and not answer.approved
    assert answer.limit_name == "gross_exposure" and answer.measured == pytest.approx(1.25)
    # reducing A is fine, and the figures after the trade are given
    answer = monitor.check_trade_signal(
        Signal(strategy_id="s", symbol="A", timestamp=utc(2020, 1, 2), strength=-1.0), quantity=5
    )
    assert answer.approved and answer.approved_quantity == Decimal(5) and answer.side is Side.SELL
    assert answer.after is not None and answer.after.gross_exposure == pytest.approx(0.75)
    assert answer.to_dict()["decision"] == "approve"
