"""Typed component registries. Registration hooks receive one of these; the user's config
then picks components by name and passes their parameters, validated by the component's
own pydantic model."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from .enums import Role, RunMode, Timeframe
from .errors import ConfigError, DuplicateComponentError, UnknownComponentError
from .protocols import (
    AlertChannel,
    Broker,
    Cache,
    DataSource,
    PositionSizer,
    Reporter,
    RiskCheck,
    Storage,
    Strategy,
)

T = TypeVar("T")


class NoParams(BaseModel):
    """Parameter model for components that take none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class BuildContext:
    """What a component factory gets besides its parameters."""

    component_id: str
    mode: RunMode = RunMode.BACKTEST
    timeframe: Timeframe = Timeframe.D1
    initial_cash: Decimal = Decimal("100000")
    currency: str = "USD"
    state_dir: Path = Path(".ai-trading")
    credentials: Mapping[str, SecretStr] = field(default_factory=dict)
    clock: Any = None  # ai_trading_core.clock.Clock
    seed: int = 0
    alert: Callable[..., None] | None = None  # AlertRouter.emit: takes one Alert
    build: Callable[[str, str, Mapping[str, Any], str], Any] | None = None
    """``build(role, name, params, component_id)`` builds another registered component
    (role values as in :class:`~ai_trading_core.enums.Role`), e.g. an ensemble's members."""
    config_dir: Path | None = None
    """Folder of the config file the run was loaded from (None for a config built in code):
    a component resolves a relative file path in its parameters against it, so a config
    works from any working directory."""

    def resolve_path(self, path: Path) -> Path:
        """``path`` as the config means it: relative paths from the config file's folder."""
        if path.is_absolute() or self.config_dir is None:
            return path
        return self.config_dir / path

    def secret(self, name: str) -> SecretStr:
        try:
            return self.credentials[name]
        except KeyError:
            raise ConfigError(
                f"credential {name!r} is not configured (set [credentials].{name} or "
                f"AI_TRADING_CREDENTIALS__{name.upper()})"
            ) from None


def finite_params_model(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` with non-finite floats (``inf``, ``nan``) refused in every float field.

    A parameter that ``validate`` accepts must be one that ``run`` can use: a window of
    ``inf`` seconds, a limit of ``nan`` are config errors, not crashes in the middle of a
    run. A field that means something by infinity opts in with ``Field(allow_inf_nan=True)``;
    a model that sets ``allow_inf_nan`` in its own ``model_config`` keeps its choice.
    ``Decimal`` fields refuse non-finite values already. The returned class is a subclass
    (same name, same validators), so the factory still receives an instance of ``model``."""
    if "allow_inf_nan" in model.model_config:
        return model
    namespace = {
        "model_config": ConfigDict(allow_inf_nan=False),
        "__module__": model.__module__,
        "__qualname__": model.__qualname__,
        "__doc__": model.__doc__,
    }
    return type(model.__name__, (model,), namespace)


def _first_non_finite(value: Any, path: str) -> str | None:
    """Location of the first non-finite float inside nested parameter models (their own
    fields are not covered by the subclass made by :func:`finite_params_model`)."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            if any(getattr(m, "allow_inf_nan", None) is True for m in info.metadata):
                continue
            if type(value).model_config.get("allow_inf_nan") is True:
                continue
            found = _first_non_finite(getattr(value, name, None), f"{path}.{name}" if path else name)
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _first_non_finite(item, f"{path}.{i}")
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _first_non_finite(item, f"{path}.{key}")
            if found is not None:
                return found
    return None


def resolve_reference(ref: str) -> Any:
    """The object a ``"package.module:attribute"`` reference names, imported now."""
    import importlib

    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ValueError(f"a lazy reference must look like 'package.module:attribute', got {ref!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class ComponentSpec(Generic[T]):
    """A registered component. ``factory`` and ``params_model`` may be given as
    ``"package.module:attribute"`` references: they are imported the first time the component
    is built or its parameters are validated, so that loading a plugin (``--help``,
    ``plugins list``) does not import the heavy libraries its components use."""

    name: str
    role: Role
    factory_ref: Callable[[Any, BuildContext], T] | str
    params_ref: type[BaseModel] | str
    plugin: str
    description: str = ""

    @cached_property
    def factory(self) -> Callable[[Any, BuildContext], T]:
        ref = self.factory_ref
        return resolve_reference(ref) if isinstance(ref, str) else ref  # type: ignore[no-any-return]

    @cached_property
    def params_model(self) -> type[BaseModel]:
        ref = self.params_ref
        return resolve_reference(ref) if isinstance(ref, str) else ref  # type: ignore[no-any-return]

    @cached_property
    def checked_model(self) -> type[BaseModel]:
        """What :meth:`validate` uses: ``params_model`` refusing non-finite floats (see
        :func:`finite_params_model`)."""
        return finite_params_model(self.params_model)

    def build(self, params: Mapping[str, Any], ctx: BuildContext) -> T:
        model = self.validate(params, where=f"{self.role.value} {self.name!r}")
        return self.factory(model, ctx)

    def validate(self, params: Mapping[str, Any], where: str) -> BaseModel:
        model = self.checked_model
        try:
            validated = model.model_validate(dict(params))
        except ValidationError as exc:
            raise ConfigError(f"{where}: {format_validation_error(exc)}") from None
        if model.model_config.get("allow_inf_nan") is False:
            nested = _first_non_finite(validated, "")
            if nested is not None:
                raise ConfigError(f"{where}: {nested}: Input should be a finite number")
        return validated


class ComponentRegistry(Generic[T]):
    """Named factories for one role. A duplicate name is a start-up error naming both
    plugins; nothing is silently renamed or replaced."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self._specs: dict[str, ComponentSpec[T]] = {}
        self._current_plugin = "<unknown>"

    def _bind(self, plugin: str) -> ComponentRegistry[T]:
        self._current_plugin = plugin
        return self

    def register(
        self,
        name: str,
        factory: Callable[[Any, BuildContext], T] | str,
        *,
        params: type[BaseModel] | str = NoParams,
        description: str = "",
    ) -> None:
        """Register ``factory(params, context) -> component`` under ``name``.

        ``params`` is the pydantic model that validates the component's parameters from the
        config; ``description`` appears in ``ai-trading plugins list``. Either may be a
        ``"package.module:attribute"`` string, imported only when the component is used: a
        plugin module that registers this way stays cheap to load.
        """
        if name in self._specs:
            other = self._specs[name].plugin
            raise DuplicateComponentError(
                f"{self.role.value} {name!r} registered twice: "
                f"by plugin {other!r} and by plugin {self._current_plugin!r}"
            )
        self._specs[name] = ComponentSpec(name, self.role, factory, params, self._current_plugin, description)

    def get(self, name: str) -> ComponentSpec[T]:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs)) or "none"
            raise UnknownComponentError(
                f"unknown {self.role.value} {name!r} (registered: {known}); is its plugin installed and enabled?"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ComponentSpec[T]]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def names(self) -> list[str]:
        return sorted(self._specs)


DataSourceRegistry = ComponentRegistry[DataSource]
StrategyRegistry = ComponentRegistry[Strategy]
SizerRegistry = ComponentRegistry[PositionSizer]
RiskCheckRegistry = ComponentRegistry[RiskCheck]
BrokerRegistry = ComponentRegistry[Broker]
ReporterRegistry = ComponentRegistry[Reporter]
StorageRegistry = ComponentRegistry[Storage]
CacheRegistry = ComponentRegistry[Cache]
AlertChannelRegistry = ComponentRegistry[AlertChannel]


@dataclass
class Registries:
    data_sources: DataSourceRegistry = field(default_factory=lambda: ComponentRegistry(Role.DATA_SOURCE))
    strategies: StrategyRegistry = field(default_factory=lambda: ComponentRegistry(Role.STRATEGY))
    sizers: SizerRegistry = field(default_factory=lambda: ComponentRegistry(Role.SIZER))
    risk_checks: RiskCheckRegistry = field(default_factory=lambda: ComponentRegistry(Role.RISK_CHECK))
    brokers: BrokerRegistry = field(default_factory=lambda: ComponentRegistry(Role.BROKER))
    reporters: ReporterRegistry = field(default_factory=lambda: ComponentRegistry(Role.REPORTER))
    storage: StorageRegistry = field(default_factory=lambda: ComponentRegistry(Role.STORAGE))
    caches: CacheRegistry = field(default_factory=lambda: ComponentRegistry(Role.CACHE))
    alert_channels: AlertChannelRegistry = field(default_factory=lambda: ComponentRegistry(Role.ALERT_CHANNEL))

    def by_role(self) -> dict[Role, ComponentRegistry[Any]]:
        return {
            Role.DATA_SOURCE: self.data_sources,
            Role.STRATEGY: self.strategies,
            Role.SIZER: self.sizers,
            Role.RISK_CHECK: self.risk_checks,
            Role.BROKER: self.brokers,
            Role.REPORTER: self.reporters,
            Role.STORAGE: self.storage,
            Role.CACHE: self.caches,
            Role.ALERT_CHANNEL: self.alert_channels,
        }


_SECRET_WORDS = ("secret", "password", "passphrase", "token", "key", "credential")
# Errors raised while parsing a value as a non-string type: a secret (a string) never causes
# them, so echoing the offending input helps without risking a leak.
_ECHO_TYPES = frozenset(
    {
        "int_parsing",
        "int_type",
        "float_parsing",
        "float_type",
        "bool_parsing",
        "bool_type",
        "decimal_parsing",
        "decimal_type",
        "literal_error",
        "enum",
        "date_parsing",
        "datetime_parsing",
        "date_from_datetime_parsing",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "int_from_float",
        "finite_number",
    }
)


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem, ``location: message (got value)``. The offending value is only
    echoed for numeric, boolean, date and choice errors on fields not named like a secret:
    a secret's value never reaches an error message."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        msg = err["msg"]
        got = ""
        if err["type"] in _ECHO_TYPES and not any(w in loc.lower() for w in _SECRET_WORDS):
            value = err.get("input")
            if isinstance(value, str | int | float | bool) and len(repr(value)) <= 40:
                got = f" (got {value!r})"
        parts.append(f"{loc}: {msg}{got}")
    return "; ".join(parts)


def redacted_params(spec: ComponentSpec[Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """A component's parameters as JSON, validated by its model so that ``SecretStr`` fields
    come out masked."""
    return spec.params_model.model_validate(dict(params)).model_dump(mode="json")
