"""Reproducible performance comparisons of ai-trading against peer backtesting engines.

Nothing here is imported by the project; speed is measured here and never asserted in tests.
Modules in this package other than ``engines.ai_trading_engine`` and ``run`` depend only on
the standard library and NumPy, so that the peer engines' own virtualenv can import them.
"""
