"""Registers the ``ensemble`` strategy. Members are built through the same strategy registry
the hook receives: the factory keeps a reference to it (no module state), so a member can be
any strategy registered by any loaded plugin."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from ai_trading_core import hookimpl
from ai_trading_core.errors import ConfigError

from .ensemble import EnsembleStrategy, Member, make_ensemble
from .params import EnsembleParams

if TYPE_CHECKING:
    from ai_trading_core.registry import BuildContext, StrategyRegistry


def build_ensemble(registry: StrategyRegistry, params: EnsembleParams, ctx: BuildContext) -> EnsembleStrategy:
    members = []
    for spec in params.members:
        member_ctx = replace(ctx, component_id=f"{ctx.component_id}/{spec.member_id}")
        try:
            strategy = registry.get(spec.name).build(spec.params, member_ctx)
        except ConfigError as exc:
            raise ConfigError(f"ensemble {ctx.component_id!r}, member {spec.member_id!r}: {exc}") from exc
        members.append(Member(strategy, spec.weight, spec.member_id))
    return make_ensemble(ctx.component_id, members, params)


@hookimpl
def ai_trading_register_strategies(registry: StrategyRegistry) -> None:
    registry.register(
        "ensemble",
        partial(build_ensemble, registry),
        params=EnsembleParams,
        description=(
            "weighted combination of member strategies; weights static or by rolling Sharpe within "
            "[min_weight, max_weight]; members tagged <id>/<member>"
        ),
    )
