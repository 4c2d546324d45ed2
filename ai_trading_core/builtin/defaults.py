"""The kernel's built-in plugin: the default order submission and the basic sizers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import hookimpl
from .sizers import (
    EqualWeightParams,
    EqualWeightSizer,
    FixedQuantityParams,
    FixedQuantitySizer,
    SubAccountParams,
    SubAccountSizer,
)

if TYPE_CHECKING:
    from ..models import Order, OrderUpdate
    from ..protocols import Broker
    from ..registry import BuildContext, SizerRegistry


@hookimpl(trylast=True)
def ai_trading_submit_order(order: Order, broker: Broker) -> OrderUpdate | None:
    return broker.submit_order(order)


def _equal_weight(params: EqualWeightParams, ctx: BuildContext) -> EqualWeightSizer:
    return EqualWeightSizer(params)


def _fixed_quantity(params: FixedQuantityParams, ctx: BuildContext) -> FixedQuantitySizer:
    return FixedQuantitySizer(params)


def _sub_account(params: SubAccountParams, ctx: BuildContext) -> SubAccountSizer:
    return SubAccountSizer(params)


@hookimpl
def ai_trading_register_sizers(registry: SizerRegistry) -> None:
    registry.register(
        "equal_weight",
        _equal_weight,
        params=EqualWeightParams,
        description="target value = strength × gross × equity / number of symbols",
    )
    registry.register(
        "fixed_quantity",
        _fixed_quantity,
        params=FixedQuantityParams,
        description="target units = strength × quantity",
    )
    registry.register(
        "sub_account",
        _sub_account,
        params=SubAccountParams,
        description="each symbol trades its own initial_cash / N sub-account, compounding its own P&L",
    )
