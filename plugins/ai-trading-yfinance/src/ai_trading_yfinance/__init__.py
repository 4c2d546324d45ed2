"""Yahoo Finance adapter: the ``yfinance`` data source."""

__version__ = "0.1.0"
