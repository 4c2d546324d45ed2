#!/usr/bin/env bash
# Create benchmarks/.peers-venv and install the peer backtesting engines into it.
#
# The peers are never dependencies of the project: they live only in this virtualenv, and
# benchmarks/run.py starts them as subprocesses with this venv's interpreter. A peer that fails
# to install is skipped here and reported as "unavailable" by the harness.
#
# Usage: bash benchmarks/setup_peers.sh [python-interpreter]   (default: python3.11 or python3)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${BENCH_PEERS_VENV:-$here/.peers-venv}"  # benchmarks/run.py reads the same variable
python="${1:-$(command -v python3.11 || command -v python3)}"

# The peers' latest releases (checked 2026-12-06 on CPython 3.11: numpy 2.4.6, pandas 3.1.1,
# numba 0.68.1 and plotly 7.1.0 come with them). Update the pins to each peer's newest release
# before a measurement, and record the versions in docs/benchmarks.md.
BACKTRADER="backtrader==1.9.78.123"
BACKTESTING="backtesting==0.6.6"
VECTORBT="vectorbt==1.2.0"
NUMPY="numpy"
PANDAS="pandas"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" || { echo "cannot create $venv" >&2; exit 1; }
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
"$venv/bin/python" -m pip install --quiet "$NUMPY" "$PANDAS" || { echo "numpy/pandas failed to install" >&2; exit 1; }

status=0
for pkg in "$BACKTRADER" "$BACKTESTING" "$VECTORBT"; do
    if "$venv/bin/python" -m pip install --quiet "$pkg" "$NUMPY" "$PANDAS"; then
        echo "installed $pkg"
    else
        echo "FAILED to install $pkg (the harness will report it as unavailable)" >&2
        status=1
    fi
done
"$venv/bin/python" -m pip list 2>/dev/null | grep -iE '^(backtrader|backtesting|vectorbt|numba|numpy|pandas|plotly) '
exit $status
