"""The JSON body and the text rendering of an alert, shared by the transports."""

from __future__ import annotations

import json
from typing import Any

from ai_trading_core.models import Alert


def alert_payload(alert: Alert) -> dict[str, Any]:
    """Plain JSON types: severity and timestamp as strings, details as given, and the run's
    ``context`` (``run_id``, ``run_name``, ``mode``, ``equity`` as a decimal string,
    ``risk_state``) when the engine raised or routed the alert, else null."""
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
    ]
    c = alert.context
    if c is not None:
        lines += [
            f"Run:      {c.run_name or '-'} ({c.run_id}), {c.mode}",
            f"Equity:   {c.equity if c.equity is not None else '-'}",
            f"Risk:     {c.risk_state.value.upper() if c.risk_state is not None else '-'}",
        ]
    lines += ["", alert.message]
    if alert.details:
        lines += ["", "Details:", json.dumps(alert.details, indent=2, sort_keys=True, default=str)]
    return "\n".join(lines) + "\n"
