"""Install the kernel and every plugin under plugins/ (editable, with its ``test`` extra
when it has one) into the current environment, in one pip call."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent
args = ["-e", f"{root}[test]"]
for pyproject in sorted(root.glob("plugins/*/pyproject.toml")):
    extras = tomllib.loads(pyproject.read_text()).get("project", {}).get("optional-dependencies", {})
    args += ["-e", f"{pyproject.parent}[test]" if "test" in extras else str(pyproject.parent)]
cmd = [sys.executable, "-m", "pip", "install", "--quiet", *args]
print("installing kernel and", len(args) // 2 - 1, "plugins", flush=True)
sys.exit(subprocess.call(cmd))
