"""Redis for ai-trading: a cache that never blocks trading (:mod:`.cache`), compact NumPy
encodings (:mod:`.codec`), market-data helpers, live event publishing and heartbeats
(:mod:`.market`)."""

from __future__ import annotations

__version__ = "0.1.0"
