"""Configuration: a TOML file, overridden by ``AI_TRADING_*`` environment variables and a
``.env`` file (nested keys with ``__``, e.g. ``AI_TRADING_RUN__INITIAL_CASH=50000``).

Component parameters stay untyped here (``params`` tables) and are validated by each
plugin's own pydantic model when the component is built. Credentials are ``SecretStr`` and
never printed.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from .enums import RunMode
from .errors import ConfigError
from .registry import format_validation_error


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentConfig(Strict):
    """``name`` picks a registered component; ``id`` names this instance (defaults to the
    name); ``params`` go to the component's own parameter model."""

    name: str
    id: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def instance_id(self) -> str:
        return self.id or self.name


class StrategyConfig(ComponentConfig):
    weight: float = 1.0  # multiplier of the strategy's targets in the combination


class RunSettings(Strict):
    mode: RunMode = RunMode.BACKTEST
    name: str = "run"
    initial_cash: Decimal = Field(default=Decimal("100000"), gt=0)
    currency: str = "USD"
    start: date | datetime | None = None
    end: date | datetime | None = None
    seed: int = 0
    benchmark: str | None = None  # symbol of the data source used as benchmark series
    output_dir: Path = Path("runs")
    state_dir: Path = Path(".ai-trading")
    on_error: Literal["halt", "flatten"] = "halt"
    rebalance: Literal["on_signal", "every_bar"] = "on_signal"
    engine: Literal["per_bar", "block"] = "per_bar"  # block: backtests step only where something happens
    close_at_end: bool = False
    replay_speed: float = Field(default=0.0, ge=0.0)  # paper over replay: 0 = as fast as possible
    on_stop: Literal["cancel", "keep"] = "cancel"  # live: open orders on SIGTERM/SIGINT or end of stream
    resume: bool = True  # paper/live with recoverable storage: an unfinished run of this config is resumed

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date_or_datetime(cls, v: Any) -> Any:
        # A string with a time part is a datetime (never silently truncated to its date);
        # a bare YYYY-MM-DD is a date, meaning the whole UTC day.
        if isinstance(v, str) and len(v.strip()) > 10:
            text = v.strip()
            try:
                return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
            except ValueError:
                return v  # let pydantic report it
        return v

    @field_validator("start", "end")
    @classmethod
    def _no_naive(cls, v: date | datetime | None) -> date | datetime | None:
        if isinstance(v, datetime) and v.tzinfo is None:
            raise ValueError("datetimes must carry a timezone (e.g. 2008-01-01T00:00:00Z); plain dates are UTC")
        return v


class PluginSettings(Strict):
    load: list[str] | None = None  # explicit entry-point list; required in live mode
    disable: list[str] = Field(default_factory=list)


class AuditSettings(Strict):
    enabled: bool = True
    path: Path | None = None  # default: <output_dir>/<run_id>/audit.jsonl


class LoggingSettings(Strict):
    level: str = "INFO"
    json_path: Path | None = None  # default: <output_dir>/<run_id>/log.jsonl


class AppConfig(BaseSettings):
    """The whole configuration of one run."""

    model_config = SettingsConfigDict(
        env_prefix="AI_TRADING_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="forbid",
        env_ignore_empty=True,
    )

    run: RunSettings = Field(default_factory=RunSettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    data: ComponentConfig
    strategies: list[StrategyConfig] = Field(min_length=1)
    sizer: ComponentConfig = Field(default_factory=lambda: ComponentConfig(name="equal_weight"))
    risk: list[ComponentConfig] = Field(default_factory=list)
    broker: ComponentConfig = Field(default_factory=lambda: ComponentConfig(name="sim"))
    reporters: list[ComponentConfig] = Field(default_factory=list)
    storage: ComponentConfig | None = None
    cache: ComponentConfig | None = None
    alerts: list[ComponentConfig] = Field(default_factory=list)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    credentials: dict[str, SecretStr] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)

    def config_hash(self) -> str:
        """SHA-256 of the canonical config, credentials excluded, and ``run.resume`` (how a
        process starts, not what it trades: a run resumed with it is the same run)."""
        doc = self.model_dump(mode="json", exclude={"credentials": True, "run": {"resume"}})
        return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def redacted(self) -> dict[str, Any]:
        doc = self.model_dump(mode="json")
        doc["credentials"] = {k: "**********" for k in self.credentials}
        return doc


def load_config(
    path: str | Path, *, env_file: str | Path | None = ".env", overrides: dict[str, Any] | None = None
) -> AppConfig:
    """Read and validate a TOML config. Raises :class:`ConfigError` with one line naming the
    file and every problem; never a traceback, never a secret value."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        with path.open("rb") as fh:
            tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    bound = type(
        "BoundAppConfig",
        (AppConfig,),
        {"model_config": SettingsConfigDict(**{**AppConfig.model_config, "toml_file": path, "env_file": env_file})},
    )
    try:
        config = bound(**(overrides or {}))
    except ValidationError as exc:
        raise ConfigError(f"{path}: {format_validation_error(exc)}") from None
    return AppConfig.model_validate(config.model_dump())


def config_from_dict(data: dict[str, Any]) -> AppConfig:
    """Validate a config given as a dict (tests, embedding); environment still overrides."""
    try:
        return AppConfig(**data)
    except ValidationError as exc:
        raise ConfigError(f"config: {format_validation_error(exc)}") from None
