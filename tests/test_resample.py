"""Resampling to a higher timeframe: values checked against pandas' own resampler, and the
incremental resampler exposes exactly the completed bars, never a partial one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ai_trading_core.enums import Timeframe
from ai_trading_core.errors import ConfigError
from ai_trading_core.market import BarPanel, History
from ai_trading_core.resample import (
    IncrementalResampler,
    completed_bucket_index,
    resample_panel,
)
from ai_trading_core.testing import random_walk_panel

DAY_NS = 86_400 * 1_000_000_000


def _with_gaps(panel: BarPanel, seed: int = 3) -> BarPanel:
    """Knock out ~10% of the cells (a symbol without a bar there), and one whole bucket of
    symbol 1."""
    rng = np.random.default_rng(seed)
    mask = rng.random(panel.shape) < 0.1
    mask[300:600, 1] = True

    def knock(a: np.ndarray) -> np.ndarray:
        return np.where(mask, np.nan, a)

    return BarPanel(
        panel.symbols,
        panel.timestamps,
        knock(panel.open),
        knock(panel.high),
        knock(panel.low),
        knock(panel.close),
        knock(panel.volume),
        panel.timeframe,
        panel.instruments,
        panel.source,
    )


def _pandas_resample(panel: BarPanel, target: Timeframe, j: int) -> pd.DataFrame:
    idx = pd.to_datetime(panel.timestamps, utc=True)
    fields = ("open", "high", "low", "close", "volume")
    df = pd.DataFrame({f: getattr(panel, f)[:, j] for f in fields}, index=idx)
    rule = {Timeframe.D1: "1D", Timeframe.H1: "1h", Timeframe.H4: "4h"}[target]
    out = df.resample(rule, label="left", closed="left").agg(
        {
            "open": "first",
            "high": "max",
            "low": "min",
            "close": "last",
            "volume": lambda s: s.sum(min_count=1),
        }
    )
    return out


@pytest.mark.parametrize("target", [Timeframe.H1, Timeframe.H4, Timeframe.D1])
def test_resample_panel_matches_pandas(target: Timeframe) -> None:
    panel = _with_gaps(random_walk_panel(n_bars=2_000, n_symbols=3, seed=1, timeframe=Timeframe.M5))
    out = resample_panel(panel, target)
    assert out.timeframe is target
    for j in range(3):
        ref = _pandas_resample(panel, target, j)
        ref = ref.loc[ref.index.isin(pd.to_datetime(out.timestamps, utc=True))]
        assert len(ref) == len(out.timestamps)
        np.testing.assert_array_equal(pd.to_datetime(out.timestamps, utc=True), ref.index)
        for f in ("open", "high", "low", "close", "volume"):
            np.testing.assert_allclose(getattr(out, f)[:, j], ref[f].to_numpy(), rtol=1e-12, equal_nan=True)


def test_bars_are_labelled_by_bucket_open_time() -> None:
    panel = random_walk_panel(n_bars=288 * 2, n_symbols=1, timeframe=Timeframe.M5)  # two whole UTC days
    out = resample_panel(panel, Timeframe.D1)
    assert list(out.timestamps) == [int(panel.timestamps[0]), int(panel.timestamps[0]) + DAY_NS]
    assert out.open[0, 0] == panel.open[0, 0]
    assert out.close[0, 0] == panel.close[287, 0]
    assert out.high[0, 0] == panel.high[:288, 0].max()
    assert out.volume[1, 0] == panel.volume[288:, 0].sum()


def test_complete_only_drops_the_partial_last_bucket() -> None:
    panel = random_walk_panel(n_bars=288 + 10, n_symbols=2, timeframe=Timeframe.M5)
    assert len(resample_panel(panel, Timeframe.D1).timestamps) == 2
    assert len(resample_panel(panel, Timeframe.D1, complete_only=True).timestamps) == 1
    whole = panel.select(end=int(panel.timestamps[287]))
    assert len(resample_panel(whole, Timeframe.D1, complete_only=True).timestamps) == 1


def test_incompatible_timeframes_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="whole multiple"):
        resample_panel(random_walk_panel(n_bars=10, timeframe=Timeframe.D1), Timeframe.H1)
    with pytest.raises(ConfigError):
        IncrementalResampler(2, Timeframe.H4, Timeframe.H1, capacity=10)


def test_incremental_resampler_exposes_only_completed_bars_equal_to_panel_resample() -> None:
    panel = _with_gaps(random_walk_panel(n_bars=288 * 3 + 50, n_symbols=3, seed=7, timeframe=Timeframe.M5))
    full = resample_panel(panel, Timeframe.D1)
    visible = completed_bucket_index(panel.timestamps, panel.timeframe, Timeframe.D1)
    inc = IncrementalResampler(3, Timeframe.M5, Timeframe.D1, capacity=10)
    for i, market in enumerate(panel.slices()):
        inc.update(market)
        # the number of completed daily bars equals what completed_bucket_index says is visible
        assert inc.count == visible[i] + 1
        if inc.count:
            k = inc.count - 1
            h: History = inc.history
            assert h.timestamps(1)[0] == full.timestamps[k]
            for f in ("open", "high", "low", "close", "volume"):
                np.testing.assert_array_equal(h.window(f, 1)[0], getattr(full, f)[k])
    # the third day is complete only after its last 5-minute bar; the 50 bars after it are partial
    assert inc.count == 3
    assert visible[287] == 0 and visible[286] == -1


def test_daily_bar_from_a_session_completes_with_the_next_session() -> None:
    """Bars of a 6.5-hour session never reach the end of the UTC day: the day completes when
    the next day's first bar arrives, not before."""
    step = 300 * 1_000_000_000
    day0 = 1_577_836_800 * 1_000_000_000 + (14 * 3600 + 1800) * 1_000_000_000  # 14:30 UTC
    stamps = np.concatenate([day0 + step * np.arange(78), day0 + DAY_NS + step * np.arange(78)])
    idx = completed_bucket_index(stamps, Timeframe.M5, Timeframe.D1)
    assert (idx[:78] == -1).all()
    assert (idx[78:] == 0).all()
