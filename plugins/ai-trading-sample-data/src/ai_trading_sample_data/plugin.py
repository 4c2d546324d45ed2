"""Registers the ``arch_indices`` and ``synthetic`` data sources."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl

from .arch_indices import ArchIndices, ArchIndicesParams
from .synthetic import SyntheticParams, SyntheticUniverse

if TYPE_CHECKING:
    from ai_trading_core.registry import BuildContext, DataSourceRegistry


def _arch_indices(params: ArchIndicesParams, ctx: BuildContext) -> ArchIndices:
    return ArchIndices(params)


def _synthetic(params: SyntheticParams, ctx: BuildContext) -> SyntheticUniverse:
    return SyntheticUniverse(params, seed=ctx.seed if params.seed is None else params.seed)


@hookimpl
def ai_trading_register_data_sources(registry: DataSourceRegistry) -> None:
    registry.register(
        "arch_indices", _arch_indices, params=ArchIndicesParams,
        description=(
            "real S&P 500 and NASDAQ Composite daily OHLCV 1999-2018 (data shipped in the arch package)"
        ),
    )
    registry.register(
        "synthetic", _synthetic, params=SyntheticParams,
        description="seeded synthetic universe of correlated symbols (one-factor GBM), any timeframe",
    )
