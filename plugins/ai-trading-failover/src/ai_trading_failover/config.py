"""Parameters of the ``failover`` data source."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class MemberParams(BaseModel):
    """One data source inside the failover, configured as ``[data]`` would configure it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """The registered data source, e.g. "alpaca_bars", "yfinance", "ccxt_ohlcv"."""
    id: str | None = None
    """How bars, alerts and the run document name it; default: ``name`` (``name#2`` when taken)."""
    params: dict[str, Any] = Field(default_factory=dict)
    symbols: dict[str, str] = Field(default_factory=dict)
    """This source's symbol -> the primary's symbol, where they differ (e.g. "BTC-USD" -> "BTC/USD")."""


class FailoverParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    primary: MemberParams
    backups: list[MemberParams] = Field(min_length=1)
    """Tried in order when the source before fails or goes stale."""
    fill_gaps: bool = True
    """History (``load``): fill the primary's missing bars (timestamps it lacks, symbols
    without a bar) from the backups, in order, within the primary's time range."""
    switch_after_s: float | None = Field(default=None, gt=0)
    """Streaming: seconds of silence (as the active source reports it in ``health()``) after
    which the failover moves to the next source; default: as soon as it reports STALE."""
    stale_after_s: float = Field(default=300.0, gt=0)
    """Streaming, for a source without ``health()``: seconds of wall clock without a bar after
    which it counts as stale (it cannot tell a closed market from a dead feed)."""
    retry_primary_s: float = Field(default=300.0, gt=0)
    """Streaming: while on a backup, go back to the primary after this many seconds (its
    stream backfills what it missed); if it fails again the failover moves on again."""
    poll_s: float = Field(default=0.5, gt=0)
    """Seconds between two looks at the active source's health."""
