"""Parameters of the ``yfinance`` data source.

Adjustment (``auto_adjust``), precisely:

* ``True`` (default): yfinance multiplies Open, High and Low by ``Adj Close / Close`` and
  replaces Close with ``Adj Close``. Yahoo's ``Adj Close`` is adjusted for splits and for
  dividends, so the series has no jumps at splits or ex-dividend dates and its returns are
  total returns. Use it for research and backtests of returns. Price *levels* before the
  latest dividend are lower than what traded then, so do not compare them with fills.
* ``False``: Open, High, Low and Close are Yahoo's traded prices (Yahoo adjusts them for
  splits only, not for dividends); yfinance adds an ``Adj Close`` column, which is kept in
  the cache but not in the panel. Use it to compare with real quotes and fills, or when a
  strategy accounts for dividends itself.

Volume is never adjusted by yfinance.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class YFinanceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    symbols: list[str] = Field(min_length=1)
    """Yahoo tickers, e.g. "AAPL", "^GSPC", "EURUSD=X", "BTC-USD"."""
    interval: str = "1d"
    """Bar length: 1m, 5m, 15m, 30m, 1h or 1d (Yahoo serves 1m for the last ~7 days and
    other intraday intervals for the last ~60 days)."""
    start: str | None = None
    """First date (ISO, inclusive); the run's start overrides it. None: the whole history."""
    end: str | None = None
    """Last date (ISO, inclusive); the run's end overrides it. None: up to the latest bar."""
    auto_adjust: bool = True
    """Split- and dividend-adjusted OHLC (True) or traded prices (False); see the module doc."""
    cache_dir: Path | None = None
    """Directory of the parquet cache; None: ``<state_dir>/yfinance-cache``. Only ranges
    with both start and end are cached (an open range changes as days pass)."""
    cache: bool = True
    timeout_s: float = Field(default=30.0, gt=0)
    """Seconds yfinance waits for each HTTP answer."""
    poll_s: float = Field(default=60.0, gt=0)
    """Streaming (paper and live runs): seconds between two polls of Yahoo for new bars."""
    stale_after_s: float | None = Field(default=None, gt=0)
    """Streaming: seconds without a new bar after which ``health()`` reports STALE (Yahoo has
    no market calendar here: leave unset for a standalone run, set it for a failover member)."""
