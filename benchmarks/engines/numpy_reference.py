"""The NumPy reference as a benchmark engine (``python -m benchmarks.engines.numpy_reference``)."""

from __future__ import annotations

from .. import data, reference
from ..measure import run_engine, version_of


def run(case: data.OHLCV) -> tuple[int, float]:
    outcome = reference.run_reference(case.open, case.close, case.initial_cash, trigger=reference.TRIGGER)
    return outcome.trades, outcome.final_equity


if __name__ == "__main__":
    run_engine("numpy", run, {"numpy": version_of("numpy")})
