"""Circuit breaker for ai-trading: trips on a daily or a rapid loss, persists its state
across restarts and is re-armed only explicitly (API or ``ai-trading risk rearm``)."""

from __future__ import annotations

from .breaker import BreakerStatus, BreakerTransition, CircuitBreaker
from .check import CircuitBreakerCheck, CircuitBreakerParams, build_circuit_breaker
from .state_file import state_path

__all__ = [
    "BreakerStatus",
    "BreakerTransition",
    "CircuitBreaker",
    "CircuitBreakerCheck",
    "CircuitBreakerParams",
    "build_circuit_breaker",
    "state_path",
]
