from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class HealthParams(BaseModel):
    """Parameters of the ``health`` component."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(
        default="127.0.0.1",
        description="address the endpoint binds to; beyond loopback a bearer token is required",
    )
    token_credential: str = Field(
        default="health_token",
        description="credential holding the bearer token (secrets store, [credentials] or "
        "AI_TRADING_CREDENTIALS__HEALTH_TOKEN); when set, every request needs 'Authorization: Bearer <token>'",
    )
    port: int = Field(default=8081, ge=0, le=65535, description="TCP port; 0 picks a free one")
    liveness_timeout: float = Field(
        default=300.0, gt=0, description="seconds without a processed bar after which /livez fails"
    )
    max_staleness: float | None = Field(
        default=None,
        gt=0,
        description="seconds after the newest bar's close beyond which data is stale (default: 2 bars)",
    )
    storage_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL probed with SELECT 1 (default: the state directory is writable)",
    )
