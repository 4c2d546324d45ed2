"""Prometheus metrics for ai-trading runs."""

from .exporter import PrometheusExporter
from .params import PrometheusParams
from .series import TradingSeries

__all__ = ["PrometheusExporter", "PrometheusParams", "TradingSeries"]
