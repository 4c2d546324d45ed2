"""Reproducible performance comparisons of ai-trading against peer backtesting engines.

Nothing here is imported by the project; speed is measured here and never asserted in tests.
Modules in this package other than ``engines.ai_trading_engine``, ``memory_soak`` and ``run``
depend only on the standard library and NumPy (the peers' runners add pandas and the peer
itself), so that the peer engines' own virtualenv can import them.
"""
