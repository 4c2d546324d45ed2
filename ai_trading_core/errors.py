"""One exception hierarchy. Every error the framework raises on purpose derives from
:class:`AiTradingError`; the CLI prints its message on one line and exits non-zero."""

from __future__ import annotations


class AiTradingError(Exception):
    """Base of every deliberate ai-trading error."""

    exit_code = 1


class ConfigError(AiTradingError):
    """The configuration file or environment is malformed or names something unknown."""

    exit_code = 2


class PluginLoadError(AiTradingError):
    """An entry point failed to import or register. Carries the entry point, its
    distribution and version; the original exception is chained as ``__cause__``."""

    def __init__(self, entry_point: str, distribution: str, version: str, reason: str) -> None:
        self.entry_point = entry_point
        self.distribution = distribution
        self.version = version
        self.reason = reason
        super().__init__(f"plugin {entry_point!r} from {distribution} {version} failed to load: {reason}")


class DuplicateComponentError(AiTradingError):
    """Two plugins registered a component of the same role under the same name."""


class UnknownComponentError(ConfigError):
    """The config names a component that no loaded plugin registered."""


class DataError(AiTradingError):
    """Market data is missing, malformed or inconsistent (missing columns, NaN or
    non-positive prices, unsorted or duplicate timestamps, naive timestamps)."""


class UnknownSymbolError(DataError):
    """A symbol was requested that the data source does not have."""


class OrderError(AiTradingError):
    """An order is invalid or was refused."""


class InvalidOrderTransition(OrderError):
    """An order status change that the lifecycle state machine does not allow."""


class BrokerError(AiTradingError):
    """The broker refused a request or answered in an unexpected way."""


class BrokerTimeout(BrokerError):
    """The broker did not answer in time. The order's state is UNKNOWN until looked up."""


class RiskError(AiTradingError):
    """A risk check failed to evaluate; the decision path fails closed."""


class TradingHalted(RiskError):
    """The risk state forbids the requested action."""


class StorageError(AiTradingError):
    """Persisting or reading state failed. At order time this halts trading."""


class AuditError(StorageError):
    """The audit trail could not be written, or its hash chain does not verify."""


class SecretsError(AiTradingError):
    """A secret could not be decrypted or stored."""
