"""Parameters of the ``analytics`` reporter."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AnalyticsParams(BaseModel):
    """``[[reporters]] name = "analytics"`` parameters."""

    model_config = ConfigDict(extra="forbid")

    risk_free_rate: float = Field(
        0.0, gt=-1.0, lt=1.0, description="annual risk-free rate as a fraction (0.02 = 2 %)"
    )
    periods_per_year: float | None = Field(
        None,
        gt=0,
        description="bars per year for annualisation; default: from the run's timeframe (252 daily)",
    )
    rolling_window: int | None = Field(
        None,
        ge=2,
        description="bars in the tearsheet's rolling Sharpe window; default a quarter year (63 daily)",
    )
    top_symbols: int = Field(10, ge=0, description="symbols shown in the terminal attribution table")
