"""Basic run summary reporter."""

from .reporter import SummaryReporter

__all__ = ["SummaryReporter"]
