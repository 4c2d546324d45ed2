"""Start-up cost of the CLI with every installed plugin: ``ai-trading --help``, ``ai-trading
plugins list`` (wall time of a fresh process each) and the plugin host alone (in process).

    python benchmarks/bench_cli.py [--runs 9]

Bytecode caching is left on (``PYTHONDONTWRITEBYTECODE`` removed for the children), as in a
normal install; one untimed run first writes the caches. Prints the median and the range.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("AI_TRADING_")}
    cli = [sys.executable, "-m", "ai_trading_core.cli"]
    host = [sys.executable, "-c", "import time; t = time.perf_counter(); "
            "from ai_trading_core.plugins import create_plugin_host; t1 = time.perf_counter(); h = create_plugin_host(); "
            "print(time.perf_counter() - t1, time.perf_counter() - t, len(h.plugins))"]
    cases = {"ai-trading --help": cli + ["--help"], "ai-trading plugins list": cli + ["plugins", "list"]}
    for name, cmd in cases.items():
        timed(cmd, env)  # writes the bytecode caches
        runs = sorted(timed(cmd, env) for _ in range(args.runs))
        print(f"{name:26} median {statistics.median(runs):.3f} s  (min {runs[0]:.3f}, max {runs[-1]:.3f}, {args.runs} runs)")
    out = [subprocess.run(host, env=env, capture_output=True, text=True, check=True).stdout.split()
           for _ in range(args.runs)]
    hosts = sorted(float(o[0]) for o in out)
    total = sorted(float(o[1]) for o in out)
    print(f"{'plugin host (' + out[0][2] + ' plugins)':26} median {statistics.median(hosts):.3f} s  "
          f"(kernel import + host: {statistics.median(total):.3f} s)")


if __name__ == "__main__":
    main()
