"""``portfolio_limits`` on columnar batches: ``check_batch`` agrees with ``check`` row by row
(the contract), and the block evaluation (figures of a run of orders computed at once) gives
the same floats as deciding order by order."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from ai_trading_risk_limits import PortfolioLimits, PortfolioLimitsParams
from ai_trading_risk_limits import limits as limits_module
from ai_trading_risk_limits.book import RiskBook

from ai_trading_core.batch import APPROVE, REJECT, RESIZE
from ai_trading_core.enums import RiskState
from ai_trading_core.market import History
from ai_trading_core.protocols import BatchRiskCheck, RiskCheck, RiskContext
from ai_trading_core.testing import random_walk_panel
from ai_trading_core.testing.contracts import BatchRiskCheckContract, assert_batch_agrees, random_batch

EVERY_LIMIT = PortfolioLimitsParams(
    max_gross_exposure=1.2,
    max_net_exposure=0.6,
    max_leverage=1.5,
    max_drawdown=0.2,
    max_position_weight=0.3,
    var_95=0.012,
    var_99=0.02,
    cvar=0.02,
    var_methods=["historical", "parametric"],
    include_mean=True,
    lookback=200,  # type: ignore[arg-type]
    correlation_threshold=0.2,
    max_cluster_weight=0.5,
)


class TestEveryLimitBatchContract(BatchRiskCheckContract):
    """Every limit on, tight enough that batches are approved, resized and rejected."""

    @pytest.fixture
    def risk_check(self) -> PortfolioLimits:
        return PortfolioLimits(EVERY_LIMIT)

    def test_the_batches_reach_every_decision(self, risk_check: PortfolioLimits) -> None:
        seen: set[int] = set()
        rng = np.random.default_rng(23)
        for ctx in self.batch_contexts():
            batch = random_batch(ctx.symbols, rng, self.rows, max_units=self.max_units, timestamp=ctx.timestamp)
            seen.update(risk_check.check_batch(batch, ctx).decision.tolist())
        assert seen == {APPROVE, RESIZE, REJECT}


class TestDrawdownBatchContract(BatchRiskCheckContract):
    """Beyond the drawdown limit: only reducing orders pass, flips resized to the close."""

    @pytest.fixture
    def risk_check(self) -> PortfolioLimits:
        return PortfolioLimits(EVERY_LIMIT)

    def batch_contexts(self) -> list[RiskContext]:
        out = super().batch_contexts()
        for ctx in out:
            ctx.peak_equity = ctx.equity * 1.5
        return out


class TestLotSizesBatchContract(BatchRiskCheckContract):
    """Configured lots coarser and finer than the batch's quantity step."""

    @pytest.fixture
    def risk_check(self) -> PortfolioLimits:
        symbols = self.context().symbols
        lots = {symbols[0]: Decimal("0.5"), symbols[1]: Decimal("0.001"), symbols[2]: Decimal("3")}
        return PortfolioLimits(EVERY_LIMIT.model_copy(update={"lot_sizes": lots}))


class TestUnmeasurableBatchContract(BatchRiskCheckContract):
    """Too little history for VaR: every order that does not reduce is rejected."""

    @pytest.fixture
    def risk_check(self) -> PortfolioLimits:
        return PortfolioLimits(EVERY_LIMIT.model_copy(update={"min_observations": 250, "lookback": 250}))


def test_protocols() -> None:
    check = PortfolioLimits(EVERY_LIMIT)
    assert isinstance(check, RiskCheck) and isinstance(check, BatchRiskCheck)


def universe(n: int, positions_seed: int = 4) -> tuple[RiskContext, np.ndarray]:
    panel = random_walk_panel(121, n, seed=9)
    history = History(121, n)
    for i in range(121):
        history.push(panel.slice_at(i))
    prices = panel.close[-1].copy()
    rng = np.random.default_rng(positions_seed)
    weights = rng.uniform(-1, 1, n)
    weights /= np.abs(weights).sum()
    equity = 1_000_000.0
    positions = np.round(weights * equity / prices, 2)
    ctx = RiskContext(
        timestamp=int(panel.timestamps[-1]),
        symbols=panel.symbols,
        prices=prices,
        positions=positions,
        equity=equity,
        cash=equity,
        peak_equity=equity,
        day_start_equity=equity,
        history=history,
        state=RiskState.ACTIVE,
        symbol_index={s: i for i, s in enumerate(panel.symbols)},
    )
    return ctx, positions


@pytest.mark.parametrize(("linear", "tail"), [(10.0, 10.0), (10.0, 0.5), (1.02, 10.0)])
def test_blocks_give_the_same_verdicts_as_order_by_order(
    linear: float, tail: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """60 symbols, 400 orders (two runs of 60 distinct symbols, so long blocks, then
    repeats), with loose limits (every order approved, blocks up to their largest size),
    VaR limits that resize and reject a third of the orders, and binding linear limits. With
    blocks switched off every order is decided alone; the verdicts must be identical, float
    for float."""
    ctx, _ = universe(60)
    params = EVERY_LIMIT.model_copy(
        update={
            "lookback": 100,
            "max_drawdown": None,
            "max_gross_exposure": 1.0 * linear,
            "max_leverage": 1.0 * linear,
            "max_net_exposure": 0.5 * linear,
            "max_position_weight": 0.04 * linear,
            "max_cluster_weight": 0.5 * linear,
            "var_95": 0.01 * tail,
            "var_99": 0.015 * tail,
            "cvar": 0.015 * tail,
        }
    )
    rng = np.random.default_rng(8)
    batch = random_batch(ctx.symbols, rng, 400, max_units=20_000, timestamp=ctx.timestamp)
    batch.index[:120] = rng.permutation(60).tolist() * 2
    blocks = PortfolioLimits(params).check_batch(batch, ctx)
    monkeypatch.setattr(limits_module, "_FIRST_BLOCK", 0)
    alone_check = PortfolioLimits(params)
    alone = alone_check.check_batch(batch, ctx)
    np.testing.assert_array_equal(blocks.decision, alone.decision)
    np.testing.assert_array_equal(blocks.approved, alone.approved)
    assert blocks.reasons == alone.reasons
    assert blocks.measured == alone.measured and blocks.limits == alone.limits
    assert_batch_agrees(alone_check, batch, ctx)  # and check() agrees with both
    binding = {alone.reasons[r].split(" ")[0] for r in range(len(batch)) if alone.decision[r] != APPROVE}
    if linear == tail:
        assert (blocks.decision == APPROVE).all()
    elif tail < 1:
        assert {RESIZE, REJECT} <= set(blocks.decision.tolist()) and "var_95_historical" in binding
    else:
        assert {"position_weight", "cluster_weight"} <= binding


def test_apply_block_leaves_the_book_as_order_by_order() -> None:
    ctx, _ = universe(30)
    check = PortfolioLimits(EVERY_LIMIT.model_copy(update={"lookback": 100}))
    check.update(ctx)
    one, blocked = check.book(ctx), check.book(ctx)
    js = [3, 7, 1, 29, 12, 0]
    ds = [10.5, -3.0, 250.0, -0.01, 42.0, -17.25]
    for j, d in zip(js, ds, strict=True):
        one.apply(j, d)
    figures = blocked.block_figures(js, ds)
    blocked.apply_block(figures, len(js))
    assert blocked.pos == one.pos and blocked.val == one.val
    assert (blocked.gross, blocked.net, blocked.var, blocked.mean) == (one.gross, one.net, one.var, one.mean)
    assert blocked.pnl is not None and one.pnl is not None and blocked.u is not None and one.u is not None
    np.testing.assert_array_equal(blocked.pnl, one.pnl)
    np.testing.assert_array_equal(blocked.u, one.u)
    assert blocked.cluster_gross == one.cluster_gross and blocked.cluster_net == one.cluster_net
    # and the figures of each order were those measures() gives with the earlier ones applied
    fresh = check.book(ctx)
    for k, (j, d) in enumerate(zip(js, ds, strict=True)):
        assert figures.measures(k) == fresh.measures(j, d)
        fresh.apply(j, d)
    assert isinstance(fresh, RiskBook)
