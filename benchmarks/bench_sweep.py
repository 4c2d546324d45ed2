"""A 50-point parameter sweep: a plain serial loop against Dask workers (run by hand; never
asserted in tests).

    python benchmarks/bench_sweep.py [--workers 2] [--symbols 20] [--bars 1000] [--repeats 2]

The grid is SMA crossover ``fast`` 2..11 × ``slow`` 20..40 (50 points) on seeded synthetic
bars (``sample-data``), simulated broker, audit off; every run writes its run directory as
usual (into a temporary folder). Prints one JSON document:

* ``serial_s``: the points one after the other in this process, with one plugin host and
  the bars loaded once (the best a loop can do);
* ``cluster_start_s``: starting a ``LocalCluster`` of ``--workers`` single-threaded worker
  processes on 127.0.0.1 and connecting;
* ``dask_first_s``: the first sweep on the fresh cluster (the workers import the plugins and
  build their plugin host on their first run);
* ``dask_warm_s``: the same sweep again (hosts cached on the workers), minimum over
  ``--repeats``;
* ``speedup_warm`` = serial / warm sweep; ``speedup_with_start`` = serial / (cluster start +
  first sweep);
* ``cpu_count`` and the load average before and after: on a machine shared with other work the
  workers do not get whole cores and the speed-up says little. What load does not change is
  the CPU time: ``serial_cpu_s`` (this process during the loop) against ``dask_warm_cpu_s``
  (the workers' and this process's CPU time during the fastest warm sweep); their ratio is the
  share of the sweep's CPU that is useful work, and ``workers × serial_cpu_s /
  dask_warm_cpu_s`` estimates the speed-up on otherwise idle cores.

Every sweep's final equities are checked against the serial loop's (exit 1 if any differs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def config_for(out: Path, symbols: int, bars: int) -> dict[str, Any]:
    return {
        "run": {"output_dir": str(out / "runs"), "state_dir": str(out / "state"), "seed": 5},
        "plugins": {"load": ["sample-data", "sim", "sma"]},
        "data": {"name": "synthetic", "params": {"n_symbols": symbols, "n_bars": bars}},
        "strategies": [{"name": "sma_crossover", "id": "sma", "params": {"fast": 5, "slow": 20}}],
        "broker": {"name": "sim", "params": {"commission_bps": 1, "slippage_bps": 2}},
        "audit": {"enabled": False},
    }


def cpu_seconds() -> float:
    """This process's user + system CPU time (run on each worker with ``client.run``)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--symbols", type=int, default=20)
    ap.add_argument("--bars", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    from ai_trading_dask import cartesian_grid, dask_client, parse_param, run_sweep
    from ai_trading_dask.grid import apply_point
    from ai_trading_dask.hosts import hosts_built
    from ai_trading_dask.sweep import config_dict

    from ai_trading_core.config import config_from_dict
    from ai_trading_core.logs import configure_logging
    from ai_trading_core.replay import load_panel
    from ai_trading_core.runner import host_for_config, run_config

    load_before = os.getloadavg()
    points = cartesian_grid(
        [
            parse_param("strategies.0.params.fast=2,3,4,5,6,7,8,9,10,11"),
            parse_param("strategies.0.params.slow=20,25,30,35,40"),
        ]
    )
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        raw = config_for(Path(tmp), args.symbols, args.bars)
        cfg = config_from_dict(raw)
        host = host_for_config(cfg)
        panel = load_panel(cfg, host)

        c0, t0 = time.process_time(), time.perf_counter()
        serial = [
            run_config(config_from_dict(apply_point(raw, p)), host, panel=panel, run_id=f"serial-{i:04d}")
            .document["metrics"]["final_equity"]
            for i, p in enumerate(points)
        ]
        serial_s = time.perf_counter() - t0
        serial_cpu = time.process_time() - c0

        t0 = time.perf_counter()
        with dask_client(workers=args.workers) as client:
            client.run(configure_logging, "WARNING")
            start_s = time.perf_counter() - t0
            base = config_dict(cfg)
            t1 = time.perf_counter()
            first = run_sweep(client, base, points, sweep_id="first", panel=panel)
            first_s = time.perf_counter() - t1
            warm = []
            warm_cpu = []
            split = []
            for k in range(args.repeats):
                before = sum(client.run(cpu_seconds).values())
                c1, t1 = time.process_time(), time.perf_counter()
                again = run_sweep(client, base, points, sweep_id=f"warm{k}", panel=panel)
                warm.append(time.perf_counter() - t1)
                here = time.process_time() - c1
                workers_cpu = sum(client.run(cpu_seconds).values()) - before
                warm_cpu.append(here + workers_cpu)
                split.append({"workers": round(workers_cpu, 2), "client_and_scheduler": round(here, 2)})
            built = client.run(hosts_built)
    agree = [r.final_equity for r in first] == serial and [r.final_equity for r in again] == serial
    warm_s = min(warm)
    cpu_s = warm_cpu[warm.index(warm_s)]
    cpu_split = split[warm.index(warm_s)]
    print(
        json.dumps(
            {
                "benchmark": "sweep",
                "points": len(points),
                "symbols": args.symbols,
                "bars": args.bars,
                "workers": args.workers,
                "serial_s": round(serial_s, 2),
                "cluster_start_s": round(start_s, 2),
                "dask_first_s": round(first_s, 2),
                "dask_warm_s": round(warm_s, 2),
                "dask_warm_all_s": [round(w, 2) for w in warm],
                "speedup_warm": round(serial_s / warm_s, 2),
                "serial_cpu_s": round(serial_cpu, 2),
                "dask_warm_cpu_s": round(cpu_s, 2),
                "dask_warm_cpu_split_s": cpu_split,
                "idle_speedup_estimate": round(args.workers * serial_cpu / cpu_s, 2),
                "speedup_with_start": round(serial_s / (start_s + first_s), 2),
                "hosts_built_per_worker": sorted(built.values()),
                "identical_to_serial": agree,
                "cpu_count": os.cpu_count(),
                "load_average_before": [round(x, 1) for x in load_before],
                "load_average_after": [round(x, 1) for x in os.getloadavg()],
                "python": platform.python_version(),
            },
            indent=2,
        )
    )
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
