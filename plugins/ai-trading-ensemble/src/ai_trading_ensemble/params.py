"""Parameters of the ``ensemble`` strategy."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MemberSpec(BaseModel):
    """One member: a registered strategy ``name`` with its ``params``; ``id`` (default: the
    name) tags its signals as ``<ensemble id>/<id>``; ``weight`` is its static weight."""

    model_config = ConfigDict(extra="forbid")

    name: str
    id: str | None = None
    weight: float = Field(1.0, gt=0, description="static weight (relative; normalised to sum 1)")
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def member_id(self) -> str:
        return self.id or self.name


class AllocationParams(BaseModel):
    """How member weights move (all counts in bars, weights as fractions of the ensemble)."""

    model_config = ConfigDict(extra="forbid")

    allocation: Literal["static", "sharpe"] = Field(
        "sharpe", description="static weights, or static × max(rolling Sharpe, 0) renormalised"
    )
    lookback: int = Field(63, ge=2, description="rolling window of member returns for the Sharpe ratio, bars")
    min_history: int | None = Field(
        None, ge=2, description="bars of member returns before dynamic weights (default lookback)"
    )
    min_weight: float = Field(0.0, ge=0, le=1, description="lowest weight of any member (fraction)")
    max_weight: float = Field(1.0, gt=0, le=1, description="highest weight of any member (fraction)")

    @model_validator(mode="after")
    def _bounds(self) -> AllocationParams:
        if self.min_weight > self.max_weight:
            raise ValueError("min_weight cannot exceed max_weight")
        return self


class EnsembleParams(AllocationParams):
    members: list[MemberSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _members(self) -> EnsembleParams:
        ids = [m.member_id for m in self.members]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"member ids must be unique (repeated: {', '.join(dupes)}); set `id` on each")
        k = len(self.members)
        if k * self.min_weight > 1 + 1e-12 or k * self.max_weight < 1 - 1e-12:
            raise ValueError(
                f"weights bounded by [{self.min_weight}, {self.max_weight}] cannot sum to 1 over {k} members"
            )
        return self
