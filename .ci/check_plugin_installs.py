"""Per-plugin install check: build every distribution as a wheel, then in one virtualenv
holding only the kernel install each plugin in turn (with its declared dependencies, from
the local wheels or the package index), check that ``ai-trading plugins list --json`` lists
it as loaded, and uninstall it again. Also checks that the kernel imports alone."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

root = Path(__file__).resolve().parent.parent
work = Path(sys.argv[1] if len(sys.argv) > 1 else root / ".install-check").resolve()
wheels = work / "wheels"
env_dir = work / "venv"
wheels.mkdir(parents=True, exist_ok=True)


def run(*cmd: str, capture: bool = False) -> str:
    out = subprocess.run(cmd, check=True, text=True, capture_output=capture)
    return out.stdout if capture else ""


plugins = sorted(p.parent for p in root.glob("plugins/*/pyproject.toml"))
run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(root), *map(str, plugins))
if not env_dir.exists():
    venv.EnvBuilder(with_pip=True).create(env_dir)
py = str(env_dir / "bin" / "python")
pip = [py, "-m", "pip", "install", "--quiet", "--find-links", str(wheels)]


def wheel_of(dist: str) -> str:
    (found,) = wheels.glob(dist.replace("-", "_") + "-*.whl")
    return str(found)


run(*pip, wheel_of("ai-trading-core"))
listed = json.loads(run(py, "-m", "ai_trading_core.cli", "plugins", "list", "--json", capture=True))
assert [r["name"] for r in listed] == ["core"], f"kernel alone should list only core, got {listed}"
print("kernel alone: OK")

failed = []
for plugin in plugins:
    meta = tomllib.loads((plugin / "pyproject.toml").read_text())["project"]
    dist = meta["name"]
    entry = next(iter(meta.get("entry-points", {}).get("ai_trading", {})), None)
    try:
        run(*pip, wheel_of(dist))
        rows = json.loads(run(py, "-m", "ai_trading_core.cli", "plugins", "list", "--json", capture=True))
        row = next((r for r in rows if r["name"] == entry), None)
        if row is None or not row["loaded"]:
            raise RuntimeError(f"not listed as loaded: {row}")
        print(f"{dist}: OK ({', '.join(row['roles']) or 'no roles'})")
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        failed.append(dist)
        print(f"{dist}: FAILED {exc}")
    finally:
        # remove every ai-trading plugin distribution again, keep the kernel and third-party deps
        installed = run(py, "-m", "pip", "list", "--format=json", capture=True)
        ours = [d["name"] for d in json.loads(installed)
                if d["name"].startswith("ai-trading-") and d["name"] != "ai-trading-core"]
        if ours:
            run(py, "-m", "pip", "uninstall", "--quiet", "-y", *ours)
print(f"{len(plugins) - len(failed)} of {len(plugins)} plugins install and load alone")
sys.exit(1 if failed else 0)
