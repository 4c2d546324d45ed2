from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PrometheusParams(BaseModel):
    """Parameters of the ``prometheus`` component."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(
        default="127.0.0.1",
        description="address the /metrics endpoint binds to; beyond loopback a bearer token is required",
    )
    token_credential: str = Field(
        default="metrics_token",
        description="credential holding the bearer token (secrets store, [credentials] or "
        "AI_TRADING_CREDENTIALS__METRICS_TOKEN); when set, every scrape needs 'Authorization: Bearer <token>'",
    )
    port: int = Field(default=9464, ge=0, le=65535, description="TCP port; 0 picks a free one")
    namespace: str = Field(
        default="ai_trading", pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$", description="metric name prefix"
    )
    latency_buckets: list[float] = Field(
        default_factory=lambda: [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0],
        min_length=1,
        description="histogram bucket upper bounds, seconds",
    )
