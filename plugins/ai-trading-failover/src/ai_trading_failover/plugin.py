"""Registers the ``failover`` data source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ai_trading_core import hookimpl
from ai_trading_core.enums import Role
from ai_trading_core.errors import ConfigError
from ai_trading_core.registry import BuildContext, DataSourceRegistry

from .config import FailoverParams

if TYPE_CHECKING:
    from .source import FailoverSource


def build_failover(params: FailoverParams, ctx: BuildContext) -> FailoverSource:
    from .source import FailoverSource, Member  # imported when a run builds the source

    if ctx.build is None:
        raise ConfigError("failover: the run did not provide a component builder")
    members = []
    taken: set[str] = set()
    for k, mp in enumerate([params.primary, *params.backups]):
        mid = mp.id or mp.name
        if mid in taken:
            mid = f"{mid}#{k + 1}"
        taken.add(mid)
        source = ctx.build(Role.DATA_SOURCE.value, mp.name, mp.params, f"{ctx.component_id}:{mid}")
        members.append(Member(mid, source, dict(mp.symbols)))
    return FailoverSource(params, members, clock=ctx.clock, alert=ctx.alert, name=ctx.component_id or "failover")


@hookimpl
def ai_trading_register_data_sources(registry: DataSourceRegistry) -> None:
    registry.register(
        "failover",
        build_failover,
        params=FailoverParams,
        description="a primary data source and ordered backups: switched on error or staleness (alerted), "
        "gaps filled from the backups, the source of every bar recorded in the run document",
    )
