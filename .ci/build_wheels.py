"""Build the kernel and every plugin under plugins/ as wheels into a wheelhouse folder.

Usage: python .ci/build_wheels.py [DIST]   (default: dist/ at the repository root)

Then, anywhere: ``pip install --find-links DIST ai-trading-core ai-trading-sim ...`` or
``pip install --find-links DIST "ai-trading-core[all]"`` for everything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
dist = Path(sys.argv[1] if len(sys.argv) > 1 else root / "dist").resolve()
dist.mkdir(parents=True, exist_ok=True)
projects = [root, *sorted(p.parent for p in root.glob("plugins/*/pyproject.toml"))]
for project in projects:
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", str(dist), str(project)],
                   check=True, stdout=subprocess.DEVNULL)
    print(f"built {project.name if project != root else 'ai-trading-core'}", flush=True)
print(f"{len(projects)} distributions in {dist}")
