"""The JSON body and the text rendering of an alert, shared by the transports."""

from __future__ import annotations

import json
from typing import Any

from ai_trading_core.models import Alert


def alert_payload(alert: Alert) -> dict[str, Any]:
    """Plain JSON types: severity and timestamp as strings, details as given."""
    doc: dict[str, Any] = alert.model_dump(mode="json")
    return doc


def alert_json(alert: Alert) -> bytes:
    return json.dumps(alert_payload(alert), separators=(",", ":"), default=str).encode("utf-8")


def alert_subject(alert: Alert, prefix: str = "[ai-trading]") -> str:
    return f"{prefix} {alert.severity.value.upper()} {alert.source}: {alert.message}"[:200]


def alert_text(alert: Alert) -> str:
    lines = [
        f"Severity: {alert.severity.value.upper()}",
        f"Source:   {alert.source}",
        f"Time:     {alert.timestamp.isoformat()}",
        f"Key:      {alert.key or '-'}",
        "",
        alert.message,
    ]
    if alert.details:
        lines += ["", "Details:", json.dumps(alert.details, indent=2, sort_keys=True, default=str)]
    return "\n".join(lines) + "\n"
