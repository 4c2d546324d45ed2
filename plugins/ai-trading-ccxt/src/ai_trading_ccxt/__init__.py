"""ccxt adapter: the ``ccxt_ohlcv`` data source and the ``ccxt`` spot broker."""

__version__ = "0.1.0"
