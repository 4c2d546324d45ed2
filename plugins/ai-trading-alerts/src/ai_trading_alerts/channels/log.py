"""The ``log`` channel: one structured loguru record per alert."""

from __future__ import annotations

from loguru import logger
from pydantic import Field

from ai_trading_core.enums import AlertSeverity
from ai_trading_core.models import Alert

from ..routing import RoutingParams

_LEVEL = {AlertSeverity.INFO: "INFO", AlertSeverity.WARNING: "WARNING", AlertSeverity.CRITICAL: "CRITICAL"}


class LogChannelParams(RoutingParams):
    """Parameters of the ``log`` channel (routing only, plus the logger name bound)."""

    logger_name: str = Field(default="ai_trading.alerts", description="value bound as `logger` on the record")


class LogTransport:
    """Writes the alert at the loguru level matching its severity, with source, key and
    details bound as extra fields (JSON logs carry them as fields)."""

    def __init__(self, logger_name: str = "ai_trading.alerts") -> None:
        self.logger_name = logger_name

    def deliver(self, alert: Alert) -> None:
        logger.bind(
            logger=self.logger_name,
            alert_source=alert.source,
            alert_key=alert.key,
            alert_details=alert.details,
        ).log(
            _LEVEL[alert.severity],
            "ALERT [{}] {}: {}",
            alert.severity.value.upper(),
            alert.source,
            alert.message,
        )
