"""``ai-trading sweep CONFIG --param PATH=V1,V2,... [--walk-forward TRAIN:TEST]``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ai_trading_core.errors import ConfigError

from .grid import cartesian_grid, parse_param
from .sweep import (
    PointResult,
    WalkForwardWindow,
    config_dict,
    dask_client,
    grid_touches_data,
    rank,
    run_sweep,
    run_walk_forward,
)


#: run-document metrics that are fractions (0.1851 = +18.51 %): shown as percentages
PERCENT_METRICS = frozenset({
    "total_return", "cagr", "volatility", "max_drawdown", "downside_deviation", "tracking_error",
    "benchmark_total_return", "win_rate", "exposure", "turnover", "var_95_historical", "var_99_historical",
    "var_95_parametric", "var_99_parametric", "cvar_95", "cvar_99", "expectancy_pct",
})


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "—" if value is None else str(value)


def _fmt_metric(name: str, value: Any) -> str:
    """A metric as the user reads it: fractions as signed percentages, ratios with 2 decimals."""
    if name in PERCENT_METRICS and isinstance(value, int | float):
        return f"{value:+.2%}"
    if isinstance(value, float):
        return f"{value:.2f}"
    return _fmt(value)


def _labels(paths: Sequence[str]) -> list[str]:
    """Column labels: a path's last key (``fast``) when that is unambiguous."""
    last = [p.rsplit(".", 1)[-1] for p in paths]
    return [short if last.count(short) == 1 else p for p, short in zip(paths, last, strict=True)]


def _results_table(results: Sequence[PointResult], metric: str, top: int | None) -> Table:
    paths = list(results[0].params) if results else []
    table = Table(title=f"sweep: {len(results)} runs, best {metric} first")
    for col in ("#", *_labels(paths), metric, "final equity", "trades"):
        table.add_column(col, justify="right")
    for r in rank(results, metric)[: top or None]:
        table.add_row(str(r.index), *(_fmt(r.params[p]) for p in paths), _fmt_metric(metric, r.metrics.get(metric)),
                      f"{r.final_equity:,.2f}", str(r.trade_count))
    return table


def _walk_forward_table(windows: Sequence[WalkForwardWindow], metric: str) -> Table:
    paths = [p for p in windows[0].best.params if p not in ("run.start", "run.end")]
    table = Table(title=f"walk-forward: {len(windows)} windows, params chosen by train {metric}")
    for col in ("window", "train", "test", *_labels(paths), f"train {metric}", f"test {metric}", "test final equity",
                "test trades"):
        table.add_column(col)
    for w in windows:
        table.add_row(str(w.number), f"{w.train_start[:10]} → {w.train_end[:10]}",
                      f"{w.test_start[:10]} → {w.test_end[:10]}",
                      *(_fmt(w.best.params[p]) for p in paths), _fmt_metric(metric, w.best.metrics.get(metric)),
                      _fmt_metric(metric, w.test.metrics.get(metric)), f"{w.test.final_equity:,.2f}", str(w.test.trade_count))
    return table


def _point_json(r: PointResult) -> dict[str, Any]:
    params = {k: (v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v) for k, v in r.params.items()}
    return {"index": r.index, "params": params, "run_id": r.run_id, "metrics": r.metrics}


@click.command("sweep")
@click.argument("config_path", type=click.Path(path_type=Path))
@click.option("--param", "params", multiple=True, metavar="PATH=V1,V2,...",
              help="A config path and its values, e.g. strategies.0.params.fast=5,10,15 (repeatable; the grid is "
                   "their cartesian product).")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address (default: a local cluster).")
@click.option("--workers", default=2, show_default=True, help="Workers of the local cluster (one thread each).")
@click.option("--threads", is_flag=True, help="Local cluster workers as threads of this process, not processes.")
@click.option("--metric", default="total_return", show_default=True,
              help="Run-document metric that ranks the runs (higher is better).")
@click.option("--walk-forward", "walk_forward", metavar="TRAIN:TEST",
              help="Bars per train and test window: pick the best params on each train window, report the next "
                   "test window.")
@click.option("--top", type=int, help="Show only the best N rows.")
@click.option("--json-out", type=click.Path(path_type=Path), help="Write the results (JSON) here.")
@click.option("--quiet", is_flag=True, help="No progress bar or table.")
@click.pass_context
def sweep_command(ctx: click.Context, config_path: Path, params: tuple[str, ...], scheduler: str | None, workers: int,
                  threads: bool, metric: str, walk_forward: str | None, top: int | None, json_out: Path | None,
                  quiet: bool) -> None:
    """Run CONFIG once per point of a parameter grid on Dask, and rank the runs."""
    from ai_trading_core.config import load_config
    from ai_trading_core.logs import configure_logging
    from ai_trading_core.replay import load_panel
    from ai_trading_core.runner import host_for_config, validate_config

    config = load_config(config_path)
    points = cartesian_grid([parse_param(p) for p in params])
    base = config_dict(config)
    disabled = tuple((ctx.obj or {}).get("disabled", ()))
    host = host_for_config(config, disable=disabled)
    validate_config(config, host)
    split = None
    if walk_forward:
        train, _, test = walk_forward.partition(":")
        if not (train.isdigit() and test.isdigit()):
            raise ConfigError(f"--walk-forward {walk_forward!r}: expected TRAIN:TEST bar counts, e.g. 500:100")
        split = (int(train), int(test))
    panel = None if grid_touches_data(points) and split is None else load_panel(config, host)
    sweep_id = uuid.uuid4().hex[:12]
    console = Console()
    err_console = Console(stderr=True)
    with dask_client(scheduler, workers=workers, processes=not threads) as client:
        if scheduler is None:  # our own worker processes: runs log to their run dirs only
            client.run(configure_logging, "WARNING")
        with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err_console, transient=True, disable=quiet) as bar:
            task = bar.add_task("runs", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            if split is None:
                results = run_sweep(client, base, points, sweep_id=sweep_id, panel=panel, progress=progress)
            else:
                assert panel is not None
                windows = run_walk_forward(client, base, points, panel, train=split[0], test=split[1], metric=metric,
                                           sweep_id=sweep_id, progress=progress)
    if split is None:
        if not quiet:
            console.print(_results_table(results, metric, top))
        out: dict[str, Any] = {"sweep_id": sweep_id, "metric": metric,
                               "runs": [_point_json(r) for r in rank(results, metric)]}
    else:
        if not quiet:
            console.print(_walk_forward_table(windows, metric))
        out = {"sweep_id": sweep_id, "metric": metric, "walk_forward": {"train_bars": split[0], "test_bars": split[1]},
               "windows": [{"window": w.number, "train": [w.train_start, w.train_end],
                            "test": [w.test_start, w.test_end],
                            "best": _point_json(w.best), "test_result": _point_json(w.test),
                            "train_runs": [_point_json(r) for r in w.train_results]} for w in windows]}
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(out, indent=1, allow_nan=False))
