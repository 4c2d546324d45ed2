"""Run every engine on the benchmark cases, check that they agree, report speed and memory.

    python -m benchmarks.run --case panel|minute|all --repeats 3 --json results.json

Each engine runs in a fresh subprocess (peers with ``benchmarks/.peers-venv``'s interpreter),
so that its peak resident memory is its own. An engine that is not installed is reported as
``unavailable``; one that crashes or times out as ``failed``; neither stops the others.
Agreement: every engine's trade count must equal the NumPy reference's, and its final equity
must be within 1e-6 relative of it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import data as bench_data

ROOT = Path(__file__).resolve().parent.parent
# The peers' interpreter: benchmarks/.peers-venv (setup_peers.sh), or BENCH_PEERS_VENV when set
# (setup_peers.sh honours the same variable).
_PEERS_VENV = os.environ.get("BENCH_PEERS_VENV") or str(Path(__file__).resolve().parent / ".peers-venv")
PEERS_PYTHON = Path(_PEERS_VENV) / "bin" / "python"
REL_TOL = 1e-6
REFERENCE = "numpy"


@dataclass(frozen=True)
class EngineSpec:
    """How to start one engine: ``module`` runs under ``python`` (the project's interpreter
    when None) with ``args``; ``probe`` is Python code whose success proves availability."""

    name: str
    module: str
    probe: str
    python: Path | None = None
    args: tuple[str, ...] = ()

    def interpreter(self) -> str:
        return str(self.python) if self.python is not None else sys.executable


ENGINES: tuple[EngineSpec, ...] = (
    EngineSpec(REFERENCE, "benchmarks.engines.numpy_reference", "import numpy"),
    EngineSpec(
        "ai-trading (block)",
        "benchmarks.engines.ai_trading_engine",
        "from benchmarks.engines.ai_trading_engine import require_block_mode; require_block_mode()",
        args=("--mode", "block"),
    ),
    EngineSpec(
        "ai-trading (per-bar)",
        "benchmarks.engines.ai_trading_engine",
        "import benchmarks.engines.ai_trading_engine",
        args=("--mode", "bar"),
    ),
    EngineSpec("vectorbt", "benchmarks.peers.run_vectorbt", "import vectorbt", PEERS_PYTHON),
    EngineSpec("backtesting.py", "benchmarks.peers.run_backtesting", "import backtesting", PEERS_PYTHON),
    EngineSpec("backtrader", "benchmarks.peers.run_backtrader", "import backtrader", PEERS_PYTHON),
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["TQDM_DISABLE"] = "1"  # backtesting.py's progress bar
    env.pop("PYTHONSTARTUP", None)
    return env


def availability(spec: EngineSpec) -> str | None:
    """None when the engine can run, else why not."""
    if spec.python is not None and not spec.python.exists():
        return f"peers virtualenv missing ({spec.python.parent.parent.name}): run benchmarks/setup_peers.sh"
    proc = subprocess.run(
        [spec.interpreter(), "-c", spec.probe],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["import failed"])[-1]
        return last
    return None


def run_one(
    spec: EngineSpec, case: str, repeats: int, timeout_s: float, head: tuple[int, int] | None = None
) -> dict[str, Any]:
    base: dict[str, Any] = {"engine": spec.name, "case": case}
    reason = availability(spec)
    if reason is not None:
        return {**base, "status": "unavailable", "reason": reason}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            spec.interpreter(),
            "-m",
            spec.module,
            *spec.args,
            "--case",
            case,
            "--repeats",
            str(repeats),
            "--out",
            str(out),
            *(("--head", str(head[0]), str(head[1])) if head else ()),
        ]
        try:
            proc = subprocess.run(
                cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout_s
            )
        except subprocess.TimeoutExpired:
            return {**base, "status": "failed", "reason": f"timed out after {timeout_s:.0f} s"}
        if proc.returncode != 0 or not out.is_file():
            tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
            return {**base, "status": "failed", "reason": f"exit {proc.returncode}: {tail}"}
        result: dict[str, Any] = json.loads(out.read_text())
    result["engine"] = spec.name
    return result


def check_agreement(results: list[dict[str, Any]]) -> None:
    """Annotate each ok result with ``agrees`` (vs the NumPy reference) and ``ratio_to_numpy``."""
    ref = next((r for r in results if r["engine"] == REFERENCE and r["status"] == "ok"), None)
    for r in results:
        if r["status"] != "ok":
            continue
        r["bars_per_s"] = r["bars"] / r["wall_time_s"] if r["wall_time_s"] > 0 else float("inf")
        if ref is None:
            r["agrees"] = None
            continue
        r["ratio_to_numpy"] = r["wall_time_s"] / ref["wall_time_s"]
        r["agrees"] = _agrees(r, ref["trades"], ref["final_equity"])
        if "reference_trades" in r:
            # An engine that cannot size at the fill price is checked against the reference's
            # variant of its own sizing rule (computed by the engine process, untimed).
            r["agrees_with_peers"] = r["agrees"]
            r["agrees"] = _agrees(r, r["reference_trades"], r["reference_final_equity"])


def _agrees(r: dict[str, Any], trades: int, equity: float) -> bool:
    rel = abs(r["final_equity"] - equity) / abs(equity)
    r["equity_rel_diff"] = rel
    return bool(r["trades"] == trades and rel <= REL_TOL)


def _time_of(results: list[dict[str, Any]], engine: str) -> float | None:
    r = next((r for r in results if r["engine"] == engine and r["status"] == "ok"), None)
    return None if r is None else float(r["wall_time_s"])


def _goal(name: str, ours: float | None, theirs: float | None, factor: float = 1.0) -> dict[str, Any]:
    met = None if ours is None or theirs is None else ours * factor <= theirs
    return {"goal": name, "met": met, "ours": ours, "theirs": theirs}


def evaluate_goals(case: str, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The project's stated performance goals, measured (never asserted in tests): block mode
    no slower than vectorbt on both cases; the panel per-bar within 3x vectorbt and within
    600 MiB peak; the minute case per-bar no slower than backtesting.py."""
    block = _goal(
        f"{case}, block mode no slower than vectorbt",
        _time_of(results, "ai-trading (block)"),
        _time_of(results, "vectorbt"),
    )
    if case == "panel":
        peak = next(
            (
                r["peak_rss_mb"]
                for r in results
                if r["engine"] == "ai-trading (per-bar)" and r["status"] == "ok"
            ),
            None,
        )
        return [
            block,
            _goal(
                "panel, full pipeline (per-bar) within 3x vectorbt",
                _time_of(results, "ai-trading (per-bar)"),
                _time_of(results, "vectorbt"),
                factor=1.0 / 3.0,
            ),
            {
                "goal": "panel peak memory <= 600 MiB",
                "met": None if peak is None else peak <= 600.0,
                "ours": peak,
                "theirs": 600.0,
            },
        ]
    if case == "minute":
        return [
            block,
            _goal(
                "minute, per-bar mode no slower than backtesting.py",
                _time_of(results, "ai-trading (per-bar)"),
                _time_of(results, "backtesting.py"),
            ),
        ]
    return []


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def render(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 140)
    for case, section in report["cases"].items():
        spec = bench_data.CASES[case]
        table = Table(
            title=(
                f"{case}: {spec.n_symbols} symbol(s) x {spec.n_bars:,} bars, "
                if not report.get("head")
                else f"{case}, first {report['head'][0]:,} bars of {report['head'][1]} symbol(s) (agreement check), "
            )
            + f"median of {report['repeats']} run(s)"
        )
        for col in (
            "engine",
            "status",
            "trades",
            "final equity",
            "agrees",
            "median wall s",
            "bars/s",
            "x NumPy",
            "peak MiB",
        ):
            table.add_column(col, justify="left" if col in ("engine", "status") else "right")
        for r in section["results"]:
            if r["status"] != "ok":
                table.add_row(r["engine"], r["status"], "", "", "", "", "", "", "")
                continue
            agrees = {True: "yes", False: "NO", None: "-"}[r.get("agrees")]
            if "sizing" in r:
                agrees += " *"
            table.add_row(
                r["engine"],
                r["status"],
                f"{r['trades']:,}",
                f"{r['final_equity']:,.2f}",
                agrees,
                f"{r['wall_time_s']:.3f}",
                f"{r['bars_per_s']:,.0f}",
                _fmt(r.get("ratio_to_numpy"), ".1f"),
                f"{r['peak_rss_mb']:.0f}",
            )
        console.print(table)
        for r in section["results"]:
            if r["status"] != "ok":
                console.print(f"  {r['engine']}: {r['status']}: {r['reason']}")
            elif "sizing" in r:
                console.print(
                    f"  * {r['engine']}: checked against the reference with sizing={r['sizing']} "
                    f"({r['reference_trades']:,} trades, equity {r['reference_final_equity']:,.2f})"
                )
        for g in section["goals"]:
            mark = {True: "met", False: "NOT met", None: "not measured"}[g["met"]]
            console.print(
                f"  goal: {g['goal']}: {mark} ({_fmt(g['ours'], '.3f')} vs {_fmt(g['theirs'], '.3f')})"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=[*bench_data.CASES, "all"], default="all")
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs per engine (the median is reported)"
    )
    parser.add_argument("--engines", nargs="*", help="subset of engine names (default: all)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per engine process")
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument(
        "--head", type=int, nargs=2, metavar=("BARS", "SYMBOLS"),
        help="only the first BARS bars of the first SYMBOLS symbols: checks that the engines run and "
        "agree in seconds (timings of such a cut say nothing about the full cases)",
    )
    args = parser.parse_args(argv)

    cases = list(bench_data.CASES) if args.case == "all" else [args.case]
    engines = [e for e in ENGINES if not args.engines or e.name in args.engines or e.name == REFERENCE]
    report: dict[str, Any] = {"repeats": args.repeats, "rel_tolerance": REL_TOL, "head": args.head, "cases": {}}
    for case in cases:
        bench_data.ensure_case(case)  # generate once, before any engine process reads it
        results = []
        for spec in engines:
            print(f"[{case}] {spec.name} ...", file=sys.stderr, flush=True)
            results.append(run_one(spec, case, args.repeats, args.timeout, args.head))
        check_agreement(results)
        report["cases"][case] = {
            "spec": vars(bench_data.CASES[case]),
            "results": results,
            # goals need the full case: a cut only checks that the engines run and agree
            "goals": [] if args.head else evaluate_goals(case, results),
        }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    render(report)
    disagree = [
        r["engine"] for s in report["cases"].values() for r in s["results"] if r.get("agrees") is False
    ]
    return 1 if disagree else 0


if __name__ == "__main__":
    raise SystemExit(main())
