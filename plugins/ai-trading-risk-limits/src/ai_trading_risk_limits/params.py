"""Parameters of the ``portfolio_limits`` risk check. Every limit is optional (None = off);
fractions are of current equity."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

VarMethod = Literal["historical", "parametric"]


def _historical_only() -> list[VarMethod]:
    return ["historical"]


class PortfolioLimitsParams(BaseModel):
    """Pre-trade portfolio limits, each evaluated with the candidate order included."""

    model_config = ConfigDict(extra="forbid")

    max_gross_exposure: float | None = Field(
        None, gt=0, description="sum of |position value| / equity (fraction; 1.0 = fully invested)"
    )
    max_net_exposure: float | None = Field(
        None, gt=0, description="|sum of position values| / equity (fraction)"
    )
    max_leverage: float | None = Field(
        None, gt=0, description="gross exposure / equity (ratio); the broker's or mandate's cap"
    )
    max_drawdown: float | None = Field(
        None,
        gt=0,
        le=1,
        description="1 - equity / peak equity (fraction); beyond it only reducing orders pass",
    )
    max_position_weight: float | None = Field(
        None, gt=0, description="|position value| / equity of any one symbol (fraction)"
    )
    var_95: float | None = Field(None, gt=0, description="one-step 95 % VaR limit (fraction of equity)")
    var_99: float | None = Field(None, gt=0, description="one-step 99 % VaR limit (fraction of equity)")
    cvar: float | None = Field(
        None, gt=0, description="one-step CVaR limit at cvar_confidence (fraction of equity)"
    )
    cvar_confidence: float = Field(0.975, gt=0, lt=1, description="probability level of the CVaR limit")
    var_methods: list[VarMethod] = Field(
        default_factory=_historical_only,
        min_length=1,
        description="each VaR/CVaR limit is checked with every method listed",
    )
    include_mean: bool = Field(False, description="parametric VaR subtracts the expected P&L")
    lookback: int = Field(250, ge=2, description="returns used for VaR, CVaR and correlations (steps)")
    min_observations: int = Field(
        20, ge=2, description="fewer returns than this: VaR and correlation limits cannot be measured"
    )
    correlation_threshold: float | None = Field(
        None,
        gt=0,
        le=1,
        description="symbols linked by pairwise return correlations with |correlation| >= this form a cluster",
    )
    max_cluster_weight: float | None = Field(
        None,
        gt=0,
        description=(
            "signed exposure of one correlation cluster, |sum of direction × position value| / "
            "equity (fraction): a short in a symbol moving opposite to a long adds, one moving "
            "with it offsets"
        ),
    )
    estimate_every: int = Field(1, ge=1, description="re-estimate covariances every this many steps")
    lot_sizes: dict[str, Decimal] = Field(
        default_factory=dict,
        description="quantity increment per symbol (units); default: the last decimal place of the request",
    )

    @model_validator(mode="after")
    def _cluster_pair(self) -> PortfolioLimitsParams:
        if (self.correlation_threshold is None) != (self.max_cluster_weight is None):
            raise ValueError("correlation_threshold and max_cluster_weight go together")
        if self.min_observations > self.lookback:
            raise ValueError("min_observations cannot exceed lookback")
        for sym, lot in self.lot_sizes.items():
            if lot <= 0:
                raise ValueError(f"lot_sizes.{sym} must be positive")
        return self

    @property
    def needs_returns(self) -> bool:
        return any(v is not None for v in (self.var_95, self.var_99, self.cvar, self.correlation_threshold))

    @property
    def needs_covariance(self) -> bool:
        var_on = any(v is not None for v in (self.var_95, self.var_99, self.cvar))
        return (var_on and "parametric" in self.var_methods) or self.correlation_threshold is not None
