"""The ``failover`` data source: a primary and ordered backups (see :mod:`.source`)."""

from .source import FailoverSource

__all__ = ["FailoverSource"]
