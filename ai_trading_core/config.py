"""Configuration: a TOML or JSON file (same schema), an optional environment profile
(:mod:`ai_trading_core.profiles`), overridden by ``.env`` files and ``AI_TRADING_*``
environment variables (nested keys with ``__``, e.g. ``AI_TRADING_RUN__INITIAL_CASH=50000``).

Component parameters stay untyped here (``params`` tables) and are validated by each
plugin's own pydantic model when the component is built. Credentials are ``SecretStr`` and
never printed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

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
        # A .env file may hold other tools' variables (APCA_API_KEY_ID, TRADING_ENVIRONMENT):
        # only AI_TRADING_* ones are settings, and an unknown AI_TRADING_* one is an error.
        dotenv_filtering="match_prefix",
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

    # Where the config came from (set by load_config): not settings, not in config_hash.
    _profile: str | None = PrivateAttr(default=None)
    _source_path: Path | None = PrivateAttr(default=None)
    _source_document: dict[str, Any] | None = PrivateAttr(default=None)

    @property
    def profile(self) -> str | None:
        """The environment profile this config was loaded with (``TRADING_ENVIRONMENT`` or
        ``--env``), or None."""
        return self._profile

    @property
    def source_path(self) -> Path | None:
        """The config file, when loaded from one."""
        return self._source_path

    @property
    def source_document(self) -> dict[str, Any] | None:
        """What the file (with its profile applied) said, before the environment and ``.env``
        files: production checks look here for secrets written in the file."""
        return self._source_document

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
        document = getattr(settings_cls, "__config_document__", None)
        if document is not None:  # load_config: the file, TOML or JSON, profile applied
            sources.append(InitSettingsSource(settings_cls, init_kwargs=document))
        elif settings_cls.model_config.get("toml_file"):
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


#: Looked for in the working directory by ``load_config()`` without a path.
DEFAULT_CONFIG_NAMES = ("config.toml", "config.json")
ENV_CONFIG_PATH = "AI_TRADING_CONFIG"


def find_config(path: str | Path | None = None) -> Path:
    """``path``, else ``$AI_TRADING_CONFIG``, else ``config.toml`` or ``config.json`` in the
    working directory."""
    if path is not None:
        return Path(path)
    if os.environ.get(ENV_CONFIG_PATH):
        return Path(os.environ[ENV_CONFIG_PATH])
    for name in DEFAULT_CONFIG_NAMES:
        if Path(name).is_file():
            return Path(name)
    raise ConfigError(
        f"no config file given: pass a path, set {ENV_CONFIG_PATH}, "
        f"or put {' or '.join(DEFAULT_CONFIG_NAMES)} in the working directory"
    )


def env_files_for(path: Path, env_file: str | Path | Sequence[str | Path] | None) -> tuple[Path, ...]:
    """The ``.env`` files read for a config at ``path``, weakest first. A relative name (the
    default ``.env``) is looked up in the working directory and beside the config, which wins;
    an absolute path is read as is; None reads none."""
    if env_file is None:
        return ()
    names = [env_file] if isinstance(env_file, str | Path) else list(env_file)
    out: list[Path] = []
    for name in map(Path, names):
        candidates = [name] if name.is_absolute() else [name, path.parent / name]
        for candidate in candidates:
            if candidate.resolve() not in [p.resolve() for p in out]:
                out.append(candidate)
    return tuple(out)


def load_config(
    path: str | Path | None = None,
    *,
    env_file: str | Path | Sequence[str | Path] | None = ".env",
    overrides: dict[str, Any] | None = None,
    profile: str | None = None,
) -> AppConfig:
    """Read and validate a config file, TOML or JSON (by suffix ``.json``).

    :param path: the file; default ``$AI_TRADING_CONFIG`` or ``config.toml`` /
        ``config.json`` in the working directory.
    :param env_file: ``.env`` files to read (see :func:`env_files_for`).
    :param overrides: values that win over everything (``--mode``).
    :param profile: the environment profile; default ``TRADING_ENVIRONMENT`` from the
        environment or a ``.env`` file (see :mod:`ai_trading_core.profiles`).

    Raises :class:`ConfigError` with one line naming the file and every problem; never a
    traceback, never a secret value. A ``production`` profile's safety rules need the
    plugins' parameter models: they are enforced where the config is validated
    (``runner.host_for_config`` / ``validate_config``: ``ai-trading validate`` and ``run``).
    """
    from .profiles import apply_profile, profile_name, read_document

    path = find_config(path)
    env_files = env_files_for(path, env_file)
    name = profile_name(profile, env_files)
    document = apply_profile(read_document(path), name, path)
    bound = type(
        "BoundAppConfig",
        (AppConfig,),
        {
            "model_config": SettingsConfigDict(**{**AppConfig.model_config, "env_file": env_files or None}),
            "__config_document__": document,
        },
    )
    try:
        config = bound(**(overrides or {}))
    except ValidationError as exc:
        raise ConfigError(f"{_blamed(exc, str(path))}: {format_validation_error(exc)}") from None
    except SettingsError as exc:
        raise ConfigError(_settings_error(exc)) from None
    loaded = AppConfig.model_validate(config.model_dump())
    loaded._profile = name
    loaded._source_path = path
    loaded._source_document = document
    return loaded


def config_from_dict(data: dict[str, Any]) -> AppConfig:
    """Validate a config given as a dict (tests, embedding); environment still overrides."""
    try:
        return AppConfig(**data)
    except ValidationError as exc:
        raise ConfigError(f"{_blamed(exc, 'config')}: {format_validation_error(exc)}") from None
    except SettingsError as exc:
        raise ConfigError(_settings_error(exc)) from None


def _env_name(loc: Sequence[Any]) -> str | None:
    """The ``AI_TRADING_*`` variable set in the environment that gives the value at ``loc``
    (``("run", "initial_cash")`` → ``AI_TRADING_RUN__INITIAL_CASH``, or a whole-section
    ``AI_TRADING_RUN`` JSON), if any."""
    prefix = str(AppConfig.model_config.get("env_prefix") or "")
    delimiter = str(AppConfig.model_config.get("env_nested_delimiter") or "__")
    parts = [str(p) for p in loc]
    for k in range(len(parts), 0, -1):
        name = (prefix + delimiter.join(parts[:k])).upper()
        if os.environ.get(name):
            return name
    return None


def _blamed(exc: ValidationError, source: str) -> str:
    """Where the invalid values came from: the environment variables that set them when they
    did (a bad ``AI_TRADING_RUN__INITIAL_CASH`` is not the config file's fault), else ``source``."""
    names = list(dict.fromkeys(n for err in exc.errors() if (n := _env_name(err["loc"])) is not None))
    if not names:
        return source
    return f"environment variable {', '.join(names)} (overriding {source})"


def _settings_error(exc: SettingsError) -> str:
    """One line for a value pydantic-settings could not even parse (a section given as
    malformed JSON in ``AI_TRADING_BROKER``)."""
    message = str(exc)
    field = message.split('field "', 1)[1].split('"', 1)[0] if 'field "' in message else ""
    name = (str(AppConfig.model_config.get("env_prefix") or "") + field).upper() if field else "AI_TRADING_*"
    cause = f" ({exc.__cause__})" if exc.__cause__ is not None else ""
    return f"environment variable {name}: not valid JSON for the [{field or '?'}] section{cause}"
