"""Circuit breaker for ai-trading: trips on a daily or a rapid loss, persists its state
across restarts and is re-armed only explicitly (API or ``ai-trading risk rearm``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .breaker import BreakerStatus, BreakerTransition, CircuitBreaker
    from .check import CircuitBreakerCheck, CircuitBreakerParams, build_circuit_breaker
    from .state_file import state_path

# Imported on first use, not when the plugin loads.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "BreakerStatus": ".breaker",
        "BreakerTransition": ".breaker",
        "CircuitBreaker": ".breaker",
        "CircuitBreakerCheck": ".check",
        "CircuitBreakerParams": ".check",
        "build_circuit_breaker": ".check",
        "state_path": ".state_file",
    },
)

__all__ = [
    "BreakerStatus",
    "BreakerTransition",
    "CircuitBreaker",
    "CircuitBreakerCheck",
    "CircuitBreakerParams",
    "build_circuit_breaker",
    "state_path",
]
