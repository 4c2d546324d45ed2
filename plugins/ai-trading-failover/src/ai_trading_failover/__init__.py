"""The ``failover`` data source: a primary and ordered backups (see :mod:`.source`)."""

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .source import FailoverSource

__getattr__, __dir__ = lazy_exports(__name__, {"FailoverSource": ".source"})

__all__ = ["FailoverSource"]
