"""A newcomer's path, outside the checkout, exactly as the docs write it.

1. The tutorial (docs/tutorial-strategy-plugin.md): a fresh virtualenv in a temporary folder
   installs the kernel and three plugins (sim, sample-data, summary) from the wheelhouse, writes
   the tutorial's files, runs its ``pip install -e ".[test]"`` and ``pytest -q``, then section
   7's ``ai-trading validate`` and ``ai-trading run`` on its config.
2. The README quickstart: its first command, run verbatim by bash in a copy of the tracked
   files (it makes its own ``.venv``), and the run document it writes is checked.

Usage: python .ci/check_fresh_install.py WORKDIR   (WORKDIR/wheels is the wheelhouse that
``.ci/check_plugin_installs.py WORKDIR`` or ``tox -e wheels`` built; built here if missing)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

root = Path(__file__).resolve().parent.parent
work = Path(sys.argv[1] if len(sys.argv) > 1 else root / ".install-check").resolve()
wheels = work / "wheels"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
FILE_MARK = re.compile(r"^# file: (\S+)\n")
# The child processes must not see this environment's plugin switches or virtualenv.
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("AI_TRADING_", "VIRTUAL_ENV", "PYTHON"))}


def run(*cmd: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=cwd, env=env or ENV, text=True, capture_output=True)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-6000:])
        sys.stderr.write(proc.stderr[-6000:])
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return proc.stdout


def ensure_wheels() -> None:
    if list(wheels.glob("ai_trading_core-*.whl")):
        return
    wheels.mkdir(parents=True, exist_ok=True)
    plugins = sorted(str(p.parent) for p in root.glob("plugins/*/pyproject.toml"))
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(root), *plugins)


def tutorial(tmp: Path) -> None:
    text = (root / "docs" / "tutorial-strategy-plugin.md").read_text(encoding="utf-8")
    blocks = FENCE.findall(text)
    files = {}
    for _lang, body in blocks:
        m = FILE_MARK.match(body)
        if m:
            files[m.group(1)] = body[m.end():]
    toml_blocks = [body for lang, body in blocks if lang == "toml" and body.startswith("# trend_distance.toml")]
    assert "pyproject.toml" in files and toml_blocks, "the tutorial lost its files"

    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bindir = env_dir / "bin"
    env = {**ENV, "PATH": f"{bindir}{os.pathsep}{ENV.get('PATH', '')}", "VIRTUAL_ENV": str(env_dir),
           "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    py = str(bindir / "python")
    run(py, "-m", "pip", "install", "--quiet", "ai-trading-core", "ai-trading-sim", "ai-trading-sample-data",
        "ai-trading-summary", env=env)

    plugin_dir = tmp / "ai-trading-trend-distance"
    for rel, content in files.items():
        path = plugin_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    # Section 6, as written: pip install -e ".[test]" then pytest -q, from the plugin's folder.
    run("bash", "-c", 'pip install --quiet -e ".[test]"', cwd=plugin_dir, env=env)
    out = run("bash", "-c", "pytest -q -p no:cacheprovider", cwd=plugin_dir, env=env)
    assert " passed" in out and " failed" not in out, out[-2000:]
    print(out.strip().splitlines()[-1])
    listed = json.loads(run("ai-trading", "plugins", "list", "--json", env=env))
    assert any(r["name"] == "trend-distance" and r["loaded"] for r in listed), listed
    # Section 7: the config, validate, run.
    use_dir = tmp / "use"
    use_dir.mkdir()
    (use_dir / "trend_distance.toml").write_text(toml_blocks[0], encoding="utf-8")
    run("bash", "-c", "ai-trading validate trend_distance.toml", cwd=use_dir, env=env)
    run("bash", "-c", "ai-trading run trend_distance.toml --json-out run.json", cwd=use_dir, env=env)
    doc = json.loads((use_dir / "run.json").read_text())
    trades = doc["trades"]["count"]  # a column table (run document schema 2)
    assert trades, "the tutorial's strategy never traded"
    print(f"tutorial: OK ({trades} trades, final equity {doc['final_equity']})")


def readme_quickstart(tmp: Path) -> None:
    text = (root / "README.md").read_text(encoding="utf-8")
    command = next(body.strip() for lang, body in FENCE.findall(text) if lang == "bash" and "quickstart" in body)
    copy = tmp / "checkout"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    for rel in filter(None, tracked.decode().split("\0")):
        src = root / rel
        if src.is_file():
            dst = copy / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    run("bash", "-c", command, cwd=copy, env={**ENV, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    doc = json.loads((copy / "r.json").read_text())
    trades = doc["trades"]["count"]  # a column table (run document schema 2)
    assert doc["name"] == "quickstart" and trades, "the quickstart produced no trades"
    print(f"README quickstart: OK ({trades} trades, final equity {doc['final_equity']})")


def main() -> None:
    ensure_wheels()
    with tempfile.TemporaryDirectory(prefix="ai-trading-newcomer-") as name:
        tmp = Path(name)
        tutorial(tmp)
        readme_quickstart(tmp)


if __name__ == "__main__":
    main()
