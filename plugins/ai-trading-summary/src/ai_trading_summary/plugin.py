from __future__ import annotations

from ai_trading_core import hookimpl
from ai_trading_core.registry import BuildContext, NoParams, ReporterRegistry

from .reporter import SummaryReporter


def _build(params: NoParams, ctx: BuildContext) -> SummaryReporter:
    return SummaryReporter()


@hookimpl
def ai_trading_register_reporters(registry: ReporterRegistry) -> None:
    registry.register("summary", _build, description="final equity, total return, trade count, maximum drawdown")
