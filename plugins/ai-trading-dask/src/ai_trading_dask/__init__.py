"""ai-trading-dask: parameter sweeps and walk-forward analysis on Dask distributed."""

from .grid import apply_point, cartesian_grid, parse_param
from .sweep import PointResult, WalkForwardWindow, dask_client, rank, run_sweep, run_walk_forward

__all__ = ["PointResult", "WalkForwardWindow", "apply_point", "cartesian_grid", "dask_client", "parse_param", "rank",
           "run_sweep", "run_walk_forward"]
