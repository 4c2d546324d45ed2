"""The database audit trail: append-only (enforced by triggers), hash-chained per run."""

from __future__ import annotations

from .chain import GENESIS_HASH, canonical_json, chain_hash, event_bytes
from .explain import DecisionChain, explain
from .verify import ChainProblem, VerifyReport, verify

__all__ = [
    "GENESIS_HASH",
    "ChainProblem",
    "DecisionChain",
    "VerifyReport",
    "canonical_json",
    "chain_hash",
    "event_bytes",
    "explain",
    "verify",
]
