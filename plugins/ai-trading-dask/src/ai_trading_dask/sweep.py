"""Parameter sweeps and walk-forward analysis on Dask distributed.

Each grid point is one ordinary run (:func:`ai_trading_core.runner.run_config`) on a Dask
worker, with its own run id, audit trail and manifest, so any point can be replayed alone
(``ai-trading replay``). Results come back as small :class:`PointResult` records; the run
documents stay on the workers.

The bars are loaded once on the client and scattered to the workers, unless the grid
changes the data source or the date range (then every run loads its own). Each worker keeps
its loaded plugin host from run to run (:mod:`.hosts`), and grid points travel in batches:
a task runs several points one after the other, so the per-task cost of the scheduler and
of shipping the config is paid once per batch.
"""

from __future__ import annotations

import logging

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ai_trading_core.config import AppConfig
from ai_trading_core.errors import AiTradingError, ConfigError
from ai_trading_core.market import BarPanel, to_datetime

from .grid import Point, apply_point

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PointResult:
    """One finished run of a sweep. ``metrics`` is the run document's ``metrics`` table
    (fractions for returns, currency for equity)."""

    index: int
    params: Point
    run_id: str
    metrics: dict[str, Any]

    @property
    def final_equity(self) -> float:
        return float(self.metrics["final_equity"])

    @property
    def trade_count(self) -> int:
        return int(self.metrics["trade_count"])

    def metric(self, name: str) -> float:
        """The metric as a float; a missing or undefined (null) metric sorts last."""
        value = self.metrics.get(name)
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else -math.inf


@dataclass(frozen=True)
class WalkForwardWindow:
    """One train/test split: the best point on ``train`` and its result on ``test``."""

    number: int
    train_start: str
    train_end: str
    test_start: str
    test_end: str
    best: PointResult  # on the train window
    test: PointResult  # the same params on the test window
    train_results: list[PointResult] = field(default_factory=list)


@contextmanager
def dask_client(scheduler: str | None = None, *, workers: int = 2, processes: bool = True) -> Iterator[Any]:
    """A ``distributed.Client``: connected to ``scheduler`` (``tcp://host:8786``) when given,
    else on a :class:`~distributed.LocalCluster` of ``workers`` single-threaded workers
    (separate processes unless ``processes=False``), closed on exit."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    # Loopback only, any free port: a sweep never listens beyond this machine by accident.
    # (Thread workers talk in-process and take no host.)
    where = {"host": "127.0.0.1"} if processes else {}
    # Dask's statistical profiler samples every worker thread's stack every 10 ms; on runs of
    # pure Python and NumPy calls that costs CPU and the GIL for a picture nobody looks at
    # during a sweep. Our own cluster runs without it (a scheduler given by address keeps its
    # own configuration: set distributed.worker.profile.enabled = false on those workers).
    import dask

    # Dask's own INFO lines are noise to a sweep's user; on shutdown after a failed point they
    # include a traceback of a connection closed on purpose ("Batched Comm Closed"). Our own
    # cluster logs WARNING and above only, for as long as it runs.
    chatty = logging.getLogger("distributed")
    level = chatty.level
    chatty.setLevel(max(level, logging.WARNING))
    try:
        with dask.config.set({"distributed.worker.profile.enabled": False}), LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address="127.0.0.1:0", **where
        ) as cluster, Client(cluster) as client:
            yield client
    finally:
        chatty.setLevel(level)


def config_dict(config: AppConfig) -> dict[str, Any]:
    """A config as a plain dict grid points can edit (credentials kept as SecretStr)."""
    doc = config.model_dump(mode="json", exclude={"credentials"})
    doc["credentials"] = dict(config.credentials)
    return doc


class PointFailed(AiTradingError):
    """A grid point whose run raised one of the framework's own errors (a bad parameter
    value, a refused config): reported as one line naming the point, not as a worker's
    traceback."""


@dataclass(frozen=True)
class PointError:
    """What a worker sends back instead of raising, for an expected error: Dask logs every
    task that raises with its whole traceback, which buries the one line that matters."""

    index: int
    params: Point
    message: str


def run_point(
    config: dict[str, Any], point: Point, index: int, run_id: str, panel: BarPanel | None
) -> PointResult | PointError:
    """Run one grid point (on a worker: with the worker's cached plugin host when there is
    one, see :mod:`.hosts`). ``config`` is a :func:`config_dict`."""
    from pydantic import ValidationError

    from ai_trading_core.registry import format_validation_error
    from ai_trading_core.runner import run_config

    from .hosts import worker_host

    try:
        cfg = AppConfig.model_validate(apply_point(config, point))
        outcome = run_config(cfg, worker_host(cfg), panel=panel, run_id=run_id)
    except ValidationError as exc:
        return PointError(index, dict(point), f"config: {format_validation_error(exc)}")
    except AiTradingError as exc:
        return PointError(index, dict(point), str(exc))
    return PointResult(index, dict(point), run_id, outcome.document["metrics"])


def run_points(
    config: dict[str, Any], batch: Sequence[tuple[int, Point, str]], panel: BarPanel | None
) -> list[PointResult | PointError]:
    """Run a batch of ``(index, point, run_id)`` one after the other (one Dask task); stops
    at the first point that fails (the sweep ends there anyway)."""
    out: list[PointResult | PointError] = []
    for index, point, run_id in batch:
        result = run_point(config, point, index, run_id, panel)
        out.append(result)
        if isinstance(result, PointError):
            break
    return out


def batch_size_for(n_points: int, slots: int) -> int:
    """Points per task: about four tasks per worker thread (so that a slow batch does not
    leave the others idle at the end), at most 16 points, at least 1."""
    return max(1, min(16, math.ceil(n_points / (4 * max(slots, 1)))))


def _slots(client: Any) -> int:
    workers = client.scheduler_info().get("workers", {})
    return sum(int(w.get("nthreads", 1)) for w in workers.values()) or 1


def grid_touches_data(points: Sequence[Point]) -> bool:
    keys = {k for p in points for k in p}
    return any(k.startswith("data.") or k in {"data", "run.start", "run.end"} for k in keys)


def run_sweep(
    client: Any, config: dict[str, Any], points: Sequence[Point], *, sweep_id: str, panel: BarPanel | None = None,
    progress: Progress | None = None, batch_size: int | None = None,
) -> list[PointResult]:
    """Run every point on the cluster; results in grid order. ``progress(done, total)`` is
    called as runs finish (in completion order). ``batch_size``: grid points per task
    (default :func:`batch_size_for` the cluster's worker threads). Run ids are
    ``<sweep_id>-<index>`` whatever the batching."""
    from distributed import as_completed

    from .hosts import PluginHostCache

    if batch_size is not None and batch_size < 1:
        raise ConfigError(f"batch size must be at least 1, got {batch_size}")
    client.register_plugin(PluginHostCache())  # idempotent: hosts survive from sweep to sweep
    size = batch_size or batch_size_for(len(points), _slots(client))
    # hash=False: a fresh key per sweep, so releasing an earlier sweep's copy cannot take this one
    panel_ref = client.scatter(panel, broadcast=True, hash=False) if panel is not None else None
    jobs = [(i, point, f"{sweep_id}-{i:04d}") for i, point in enumerate(points)]
    futures = [
        client.submit(run_points, config, jobs[lo : lo + size], panel_ref, key=f"{sweep_id}-batch-{lo:04d}",
                      pure=False)
        for lo in range(0, len(jobs), size)
    ]
    results: dict[int, PointResult] = {}
    try:
        for future in as_completed(futures):
            batch: list[PointResult | PointError] = future.result()
            for result in batch:
                if isinstance(result, PointError):
                    shown = ", ".join(f"{k}={v}" for k, v in result.params.items())
                    raise PointFailed(f"sweep point #{result.index} ({shown}): {result.message}")
                results[result.index] = result
                if progress is not None:
                    progress(len(results), len(points))
    finally:
        for f in futures:
            f.cancel()
    return [results[i] for i in range(len(points))]


def rank(results: Sequence[PointResult], metric: str) -> list[PointResult]:
    """Best first by ``metric`` (higher is better); ties keep grid order."""
    return sorted(results, key=lambda r: (-r.metric(metric), r.index))


def walk_forward_windows(timestamps: Sequence[int], train: int, test: int) -> list[tuple[int, int, int, int]]:
    """Consecutive ``(train_lo, train_hi, test_lo, test_hi)`` row ranges (inclusive) of
    ``train`` then ``test`` bars, rolled forward by ``test`` bars, while a whole test window
    fits."""
    if train < 1 or test < 1:
        raise ConfigError(f"--walk-forward TRAIN:TEST needs positive bar counts, got {train}:{test}")
    n = len(timestamps)
    out = []
    lo = 0
    while lo + train + test <= n:
        out.append((lo, lo + train - 1, lo + train, lo + train + test - 1))
        lo += test
    if not out:
        raise ConfigError(f"--walk-forward {train}:{test}: the data has {n} bars, fewer than one window "
                          f"({train + test} bars)")
    return out


def _iso(ns: int) -> str:
    return to_datetime(ns).isoformat().replace("+00:00", "Z")


def run_walk_forward(
    client: Any, config: dict[str, Any], points: Sequence[Point], panel: BarPanel, *, train: int, test: int,
    metric: str, sweep_id: str, progress: Progress | None = None,
) -> list[WalkForwardWindow]:
    """For each window, run every point on the train bars, pick the best by ``metric``, and
    run it on the following test bars. Each run starts flat with the configured cash; a
    strategy warms up inside its own window."""
    if grid_touches_data(points):
        raise ConfigError("--walk-forward: the grid may not change the data source or run.start/run.end")
    windows = walk_forward_windows(panel.timestamps.tolist(), train, test)
    ts = panel.timestamps
    # Window bounds go into the config as aware datetimes, not ISO strings: a midnight ISO
    # string would validate as a plain date (the whole day) in run.start / run.end.
    train_points: list[Point] = []
    for lo, hi, _, _ in windows:
        bounds = {"run.start": to_datetime(int(ts[lo])), "run.end": to_datetime(int(ts[hi]))}
        train_points += [{**p, **bounds} for p in points]
    total = len(train_points) + len(windows)
    done_before = 0

    def step(done: int, _total: int) -> None:
        if progress is not None:
            progress(done_before + done, total)

    train_results = run_sweep(client, config, train_points, sweep_id=f"{sweep_id}-train", panel=panel, progress=step)
    best: list[PointResult] = []
    for w in range(len(windows)):
        chunk = train_results[w * len(points): (w + 1) * len(points)]
        best.append(rank(chunk, metric)[0])
    done_before = len(train_points)
    test_points = []
    for (_, _, lo, hi), b in zip(windows, best, strict=True):
        params = {k: v for k, v in b.params.items() if k not in ("run.start", "run.end")}
        test_points.append({**params, "run.start": to_datetime(int(ts[lo])), "run.end": to_datetime(int(ts[hi]))})
    test_results = run_sweep(client, config, test_points, sweep_id=f"{sweep_id}-test", panel=panel, progress=step)
    out = []
    for w, ((tlo, thi, slo, shi), b, t) in enumerate(zip(windows, best, test_results, strict=True)):
        out.append(WalkForwardWindow(w, _iso(int(ts[tlo])), _iso(int(ts[thi])), _iso(int(ts[slo])), _iso(int(ts[shi])),
                                     b, t, train_results[w * len(points): (w + 1) * len(points)]))
    return out
