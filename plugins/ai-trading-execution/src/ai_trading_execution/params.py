"""Parameters of the ``algo`` broker: the algorithm, its venues and routing limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Algorithm = Literal["twap", "vwap", "pov", "iceberg", "direct"]
PovVolume = Literal["previous_bar", "time_of_day"]


class VenueParams(BaseModel):
    """One venue: a registered broker component and what routing knows about it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="venue label used in fills and reports")
    broker: str = Field(min_length=1, description="registered broker component, e.g. 'sim'")
    params: dict[str, Any] = Field(default_factory=dict, description="that broker's parameters")
    commission_bps: float = Field(default=0.0, ge=0, description="expected commission, bps of notional")
    expected_slippage_bps: float = Field(default=0.0, ge=0, description="expected slippage, bps of notional")
    max_order_quantity: Decimal | None = Field(default=None, gt=0, description="largest child order, units")
    max_order_notional: Decimal | None = Field(
        default=None, gt=0, description="largest child order, currency at the reference price"
    )
    unavailable_bars: int = Field(
        default=1, ge=1, description="bars a venue is skipped after it rejected an order or failed"
    )

    @property
    def cost_bps(self) -> float:
        """Routing cost: commission plus expected slippage, bps."""
        return self.commission_bps + self.expected_slippage_bps


class AlgoBrokerParams(BaseModel):
    """``algorithm`` slices each parent order into child orders:

    * ``twap``: equal slices over ``horizon_bars`` bars;
    * ``vwap``: slices proportional to ``volume_profile`` (one weight per bar of the
      horizon) or, without it, to the average volume seen so far at each bar's time of day
      (daily bars have one time of day: equal slices);
    * ``pov``: each bar, ``participation`` × volume already observed before the bar
      (``pov_volume``: the symbol's previous bar, or the average at the bar's time of day
      over the previous days) until done; never the bar's own volume, which is only known
      once the bar has closed;
    * ``iceberg``: ``display_qty`` at a time, the next slice once the shown one is filled;
    * ``direct``: the whole order at once (routing only).
    """

    model_config = ConfigDict(extra="forbid")

    algorithm: Algorithm = "twap"
    horizon_bars: int = Field(default=5, ge=1, description="twap/vwap: bars over which the parent is worked")
    volume_profile: list[float] | None = Field(
        default=None, description="vwap: relative volume per bar of the horizon (len == horizon_bars)"
    )
    participation: float = Field(
        default=0.1, gt=0, le=1, description="pov: fraction of the volume forecast for each bar"
    )
    pov_volume: PovVolume = Field(
        default="previous_bar",
        description=(
            "pov: the volume a slice is sized on, known before the bar trades: 'previous_bar' "
            "(the symbol's last bar) or 'time_of_day' (average at the bar's time of day over "
            "the previous days; the previous bar until a day has been seen)"
        ),
    )
    display_qty: Decimal | None = Field(default=None, gt=0, description="iceberg: units shown at a time")
    venues: list[VenueParams] = Field(min_length=1, description="venues, routed by cost then config order")
    max_route_failures: int = Field(
        default=3, ge=1, description="consecutive bars no venue takes a slice before the parent is cancelled"
    )
    shadow: bool = Field(
        default=False, description="run a simulated broker beside the venues on the same orders"
    )
    shadow_params: dict[str, Any] = Field(
        default_factory=dict, description="parameters of the shadow 'sim' broker"
    )

    @model_validator(mode="after")
    def _consistent(self) -> AlgoBrokerParams:
        names = [v.name for v in self.venues]
        if len(set(names)) != len(names):
            raise ValueError(f"venue names must be unique, got {names}")
        if self.algorithm == "iceberg" and self.display_qty is None:
            raise ValueError("iceberg needs display_qty")
        if self.volume_profile is not None:
            if len(self.volume_profile) != self.horizon_bars:
                raise ValueError(
                    f"volume_profile has {len(self.volume_profile)} weights, "
                    f"horizon_bars is {self.horizon_bars}"
                )
            if any(w < 0 for w in self.volume_profile) or sum(self.volume_profile) <= 0:
                raise ValueError("volume_profile weights must be >= 0 with a positive sum")
        return self
