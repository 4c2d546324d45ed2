"""SMA crossover strategy."""

from .strategy import SmaCrossover, SmaCrossoverParams

__all__ = ["SmaCrossover", "SmaCrossoverParams"]
