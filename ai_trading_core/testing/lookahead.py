"""Look-ahead check for any strategy: signals up to time T must not change when the data
after T is altered.

The strategy is run bar by bar, exactly as the engine runs it (``prepare``, then for each
slice: push it into a :class:`~ai_trading_core.market.History` and call ``on_slice``), once on
the original panel and once per cut point on a copy whose bars after the cut are replaced by
an unrelated random walk. Rows up to the cut must be identical. A strategy that also
implements ``signal_block`` must return, row by row, what ``on_slice`` returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from ..market import BarPanel, FloatArray, History
from ..protocols import Strategy


class LookaheadError(AssertionError):
    """A strategy's signals depend on data that was not available yet, or its two paths
    (``on_slice`` and ``signal_block``) disagree."""


def run_per_bar(strategy: Strategy, panel: BarPanel, history_capacity: int | None = None) -> FloatArray:
    """Targets (T, N) from calling ``on_slice`` bar by bar, as the engine does.

    :param history_capacity: rows kept in the History ring buffer; default
        ``max(strategy.warmup, 1) + 1``, the least the strategy may rely on.
    """
    t, n = panel.shape
    capacity = history_capacity if history_capacity is not None else max(int(strategy.warmup), 1) + 1
    strategy.prepare(panel.symbols, panel.timeframe)
    history = History(capacity, n)
    out = np.empty((t, n))
    for i in range(t):
        market = panel.slice_at(i)
        history.push(market)
        sig = np.asarray(strategy.on_slice(market, history), dtype=np.float64)
        if sig.shape != (n,):
            raise LookaheadError(
                f"{strategy.strategy_id}: on_slice returned shape {sig.shape} at row {i}, expected {(n,)}"
            )
        bad = np.isfinite(sig) & (np.abs(sig) > 1.0)
        if bad.any():
            raise LookaheadError(
                f"{strategy.strategy_id}: target {sig[bad][0]!r} outside [-1, 1] at row {i} "
                f"({panel.symbols[int(np.flatnonzero(bad)[0])]})"
            )
        out[i] = sig
    return out


def alter_after(panel: BarPanel, cut: int, *, seed: int = 0) -> BarPanel:
    """A copy of ``panel`` whose rows after ``cut`` are an unrelated random walk continuing from
    a different price level (OHLC kept consistent, volumes redrawn). Rows ``<= cut`` are
    unchanged; NaN (no bar) cells stay NaN."""
    rng = np.random.default_rng(seed)
    t, n = panel.shape
    k = t - cut - 1
    if k <= 0:
        return panel
    base = np.where(np.isfinite(panel.close[cut]), panel.close[cut], 100.0) * rng.uniform(0.5, 1.5, size=n)
    close = base * np.exp(np.cumsum(rng.normal(0.0, 0.05, size=(k, n)), axis=0))
    open_ = close * np.exp(rng.normal(0.0, 0.01, size=(k, n)))
    spread = np.abs(rng.normal(0.0, 0.02, size=(k, n)))
    high = np.maximum(open_, close) * np.exp(spread)
    low = np.minimum(open_, close) * np.exp(-spread)
    volume = rng.integers(1, 10_000_000, size=(k, n)).astype(np.float64)

    def patched(orig: FloatArray, new: FloatArray) -> FloatArray:
        out = orig.copy()
        out[cut + 1 :] = np.where(np.isfinite(orig[cut + 1 :]), new, np.nan)
        return out

    return BarPanel(
        symbols=panel.symbols,
        timestamps=panel.timestamps.copy(),
        open=patched(panel.open, open_),
        high=patched(panel.high, high),
        low=patched(panel.low, low),
        close=patched(panel.close, close),
        volume=patched(panel.volume, volume),
        timeframe=panel.timeframe,
        instruments=panel.instruments,
        source=f"{panel.source} altered after row {cut}",
    )


def _same(a: FloatArray, b: FloatArray, *, atol: float) -> npt.NDArray[np.bool_]:
    """Boolean mask of cells that agree (NaN agrees with NaN)."""
    both_nan = np.isnan(a) & np.isnan(b)
    close = np.isfinite(a) & np.isfinite(b) & (np.abs(a - b) <= atol)
    return np.asarray(both_nan | close | (a == b), dtype=np.bool_)


def _first_difference(a: FloatArray, b: FloatArray, atol: float) -> tuple[int, int] | None:
    diff = ~_same(a, b, atol=atol)
    if not diff.any():
        return None
    r, c = np.argwhere(diff)[0]
    return int(r), int(c)


def assert_no_lookahead(
    strategy_factory: Callable[[], Strategy],
    panel: BarPanel,
    cut_points: Sequence[int] | None = None,
    *,
    history_capacity: int | None = None,
    block_atol: float = 1e-9,
    seed: int = 0,
) -> FloatArray:
    """Assert that ``strategy_factory()``'s signals up to each cut point do not depend on the
    bars after it, and, when the strategy has ``signal_block``, that its rows equal
    ``on_slice``'s.

    :param strategy_factory: builds a fresh strategy (one per run: strategies keep state).
    :param cut_points: row indices T; signals at rows ``<= T`` are compared. Default: four
        points spread over the panel's second half.
    :param history_capacity: History rows given to the strategy (see :func:`run_per_bar`).
    :param block_atol: absolute tolerance between ``signal_block`` and ``on_slice`` targets
        (the two paths may compute indicators in a different floating-point order).
    :return: the per-bar targets on the original panel, shape (T, N).
    :raises LookaheadError: naming the strategy, the cut, the row and the symbol.
    """
    t = panel.shape[0]
    if t < 2:
        raise ValueError("the look-ahead check needs a panel of at least two bars")
    if cut_points is None:
        cut_points = sorted({t // 2, (5 * t) // 8, (3 * t) // 4, (7 * t) // 8})
    reference_strategy = strategy_factory()
    reference = run_per_bar(reference_strategy, panel, history_capacity)
    sid = reference_strategy.strategy_id
    for j, cut in enumerate(cut_points):
        if not 0 <= cut < t - 1:
            raise ValueError(f"cut point {cut} outside [0, {t - 2}]")
        altered = alter_after(panel, cut, seed=seed + j)
        signals = run_per_bar(strategy_factory(), altered, history_capacity)
        where = _first_difference(reference[: cut + 1], signals[: cut + 1], atol=0.0)
        if where is not None:
            r, c = where
            raise LookaheadError(
                f"{sid}: signal at row {r} ({panel.symbols[c]}) changed from {float(reference[r, c])!r} to "
                f"{float(signals[r, c])!r} when only data after row {cut} was altered: look-ahead"
            )
    block_fn = getattr(reference_strategy, "signal_block", None)
    if callable(block_fn):
        block_strategy = strategy_factory()
        block_strategy.prepare(panel.symbols, panel.timeframe)
        block = np.asarray(block_strategy.signal_block(panel), dtype=np.float64)  # type: ignore[attr-defined]
        if block.shape != reference.shape:
            raise LookaheadError(f"{sid}: signal_block returned shape {block.shape}, expected {reference.shape}")
        where = _first_difference(reference, block, atol=block_atol)
        if where is not None:
            r, c = where
            raise LookaheadError(
                f"{sid}: signal_block row {r} ({panel.symbols[c]}) is {float(block[r, c])!r} but on_slice "
                f"returned {float(reference[r, c])!r}"
            )
        for j, cut in enumerate(cut_points):
            altered_block = strategy_factory()
            altered_block.prepare(panel.symbols, panel.timeframe)
            other = np.asarray(altered_block.signal_block(alter_after(panel, cut, seed=seed + j)))  # type: ignore[attr-defined]
            where = _first_difference(block[: cut + 1], other[: cut + 1], atol=0.0)
            if where is not None:
                r, c = where
                raise LookaheadError(
                    f"{sid}: signal_block row {r} ({panel.symbols[c]}) changed when only data after row "
                    f"{cut} was altered: look-ahead"
                )
    return reference
