"""ai-trading-dask: parameter sweeps and walk-forward analysis on Dask distributed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .grid import apply_point, cartesian_grid, parse_param
    from .sweep import PointResult, WalkForwardWindow, dask_client, rank, run_sweep, run_walk_forward

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "apply_point": ".grid",
        "cartesian_grid": ".grid",
        "parse_param": ".grid",
        "PointResult": ".sweep",
        "WalkForwardWindow": ".sweep",
        "dask_client": ".sweep",
        "rank": ".sweep",
        "run_sweep": ".sweep",
        "run_walk_forward": ".sweep",
    },
)

__all__ = ["PointResult", "WalkForwardWindow", "apply_point", "cartesian_grid", "dask_client", "parse_param", "rank",
           "run_sweep", "run_walk_forward"]
