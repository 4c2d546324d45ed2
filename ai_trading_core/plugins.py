"""The plugin manager, built by a factory (never a module-global).

:func:`create_plugin_host` registers the kernel's built-in plugins, loads the ``ai_trading``
entry points (honouring ``AI_TRADING_DISABLE_PLUGINS``, ``AI_TRADING_LOAD_PLUGINS`` and
explicit lists), records each load failure as a :class:`PluginLoadError` naming the entry
point, distribution and version without hiding the other plugins, runs ``check_pending()``
so that a misspelt hook fails at start-up, and fills the component registries.
"""

from __future__ import annotations

import importlib.metadata as importlib_metadata
import os
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy
from loguru import logger

from . import PROJECT_NAME, __version__, hookspecs
from .enums import AlertSeverity
from .errors import AiTradingError, ConfigError, DuplicateComponentError, PluginLoadError
from .registry import ComponentRegistry, Registries

ENV_DISABLE = "AI_TRADING_DISABLE_PLUGINS"
ENV_LOAD = "AI_TRADING_LOAD_PLUGINS"
_ALL = {"1", "true", "yes", "all", "*"}


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    distribution: str
    version: str
    builtin: bool = False


@dataclass
class PluginFailure:
    error: PluginLoadError
    traceback: str


@dataclass
class PluginHost:
    """A plugin manager with its loaded plugins, failures and filled registries."""

    pm: pluggy.PluginManager
    plugins: list[LoadedPlugin] = field(default_factory=list)
    failures: list[PluginFailure] = field(default_factory=list)
    registries: Registries = field(default_factory=Registries)
    registry_errors: list[AiTradingError] = field(default_factory=list)
    #: The explicit load list (``[plugins] load`` and/or ``AI_TRADING_LOAD_PLUGINS``); None: autoload.
    requested: frozenset[str] | None = None

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def plugin(self, name: str) -> LoadedPlugin | None:
        return next((p for p in self.plugins if p.name == name), None)

    def hooks_of(self, name: str) -> list[str]:
        obj = self.pm.get_plugin(name)
        if obj is None:
            return []
        return sorted(caller.name for caller in self.pm.get_hookcallers(obj) or [])

    def roles_of(self, name: str) -> list[str]:
        roles = set()
        hooks = set(self.hooks_of(name))
        for hook_name, role in hookspecs.registration_hooks().items():
            if hook_name in hooks:
                roles.add(role)
        for registry in self.registries.by_role().values():
            if any(spec.plugin == name for spec in registry):
                roles.add(registry.role.value)
        return sorted(roles)

    def components_of(self, name: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for role, registry in self.registries.by_role().items():
            names = [spec.name for spec in registry if spec.plugin == name]
            if names:
                out[role.value] = sorted(names)
        return out

    def raise_for_registry_errors(self) -> None:
        """Raise the start-up errors that must stop a run: two components under one name, or a
        plugin named in an explicit load list that is not installed or failed to load (a typo
        there must not silently drop, say, a risk check)."""
        if self.registry_errors:
            raise self.registry_errors[0]
        self.raise_for_requested_failures()

    def raise_for_requested_failures(self) -> None:
        """A :class:`ConfigError` on one line when a plugin of the explicit load list did not load."""
        if not self.requested:
            return
        failed = [f.error for f in self.failures if f.error.entry_point in self.requested]
        if not failed:
            return
        installed = sorted({ep.name for ep in importlib_metadata.entry_points(group=PROJECT_NAME)})
        problems = "; ".join(f"{e.entry_point!r}: {e.reason}" for e in failed)
        raise ConfigError(
            f"plugin load list ([plugins] load / {ENV_LOAD}): {problems} "
            f"(installed plugins: {', '.join(installed) or 'none'})"
        )

    def has_implementations(self, hook_name: str) -> bool:
        return bool(getattr(self.pm.hook, hook_name).get_hookimpls())

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call an observer hook with every implementation isolated: one that raises is
        logged and reported through ``ai_trading_alert``; the others still run."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            try:
                impl.function(*[kwargs[arg] for arg in impl.argnames])
            except Exception as exc:  # noqa: BLE001 - observers are isolated by design
                logger.opt(exception=exc).error("observer {} of plugin {} failed", hook_name, impl.plugin_name)
                if hook_name != "ai_trading_alert":
                    self._alert_observer_failure(hook_name, impl.plugin_name, exc)

    def _alert_observer_failure(self, hook_name: str, plugin: str, exc: Exception) -> None:
        from datetime import UTC, datetime

        from .models import Alert

        alert = Alert(
            severity=AlertSeverity.WARNING,
            source=f"plugin:{plugin}",
            message=f"{hook_name} failed in plugin {plugin}: {type(exc).__name__}: {exc}",
            # Observer failures are not trading decisions; stamping with the wall clock
            # here is for humans reading alerts, not for the simulation.
            timestamp=datetime.now(UTC),
            key=f"observer-failure:{plugin}:{hook_name}",
        )
        self.notify("ai_trading_alert", alert=alert)


def builtin_plugins() -> tuple[tuple[str, str], ...]:
    """The kernel's own behaviour, registered as plugins: (name, module)."""
    return (("core", "ai_trading_core.builtin.defaults"),)


def _split(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


def installed_plugin_names() -> set[str]:
    """Entry point names of the installed plugins (group ``ai_trading``), without loading any."""
    return {ep.name for ep in importlib_metadata.entry_points(group=PROJECT_NAME)}


def create_plugin_host(
    *,
    autoload: bool = True,
    disable: Iterable[str] = (),
    only: Sequence[str] | None = None,
    extra_plugins: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
) -> PluginHost:
    """Build a plugin manager and load plugins.

    :param autoload: load ``ai_trading`` entry points at all.
    :param disable: entry point names not to load (``--disable-plugin``).
    :param only: load only these entry points (config ``[plugins] load``); None means all.
    :param extra_plugins: objects to register directly by name (tests, embedding).
    :param env: environment to read the switches from (defaults to ``os.environ``).
    """
    import importlib

    env = os.environ if env is None else env
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    host = PluginHost(pm=pm)

    for name, module_name in builtin_plugins():
        pm.register(importlib.import_module(module_name), name=name)
        host.plugins.append(LoadedPlugin(name, "ai-trading-core", __version__, builtin=True))

    blocked = set(disable) | _split(env.get(ENV_DISABLE))
    if blocked & _ALL:
        autoload = False
    allowed: set[str] | None = set(only) if only is not None else None
    if ENV_LOAD in env:
        env_allowed = _split(env.get(ENV_LOAD))
        allowed = env_allowed if allowed is None else allowed & env_allowed

    if autoload:
        seen: set[str] = set()
        for ep in sorted(importlib_metadata.entry_points(group=PROJECT_NAME), key=lambda e: e.name):
            if ep.name in seen or ep.name in blocked or (allowed is not None and ep.name not in allowed):
                continue
            seen.add(ep.name)
            dist = ep.dist.name if ep.dist is not None else "unknown"
            version = ep.dist.version if ep.dist is not None else "unknown"
            try:
                plugin = ep.load()
                pm.register(plugin, name=ep.name)
            except Exception as exc:  # noqa: BLE001 - recorded, reported, never hidden
                err = PluginLoadError(ep.name, dist, version, f"{type(exc).__name__}: {exc}")
                err.__cause__ = exc
                host.failures.append(PluginFailure(err, traceback.format_exc()))
                logger.error("{}", err)
                continue
            host.plugins.append(LoadedPlugin(ep.name, dist, version))
        if allowed:
            host.requested = frozenset(allowed)
            provided = {p.name for p in host.plugins} | set(extra_plugins or {})
            # A name that is also disabled was left out on purpose, not missing.
            for missing in sorted(allowed - seen - blocked - provided):
                err = PluginLoadError(missing, "unknown", "unknown", "no installed entry point of that name")
                host.failures.append(PluginFailure(err, ""))

    for name, obj in (extra_plugins or {}).items():
        pm.register(obj, name=name)
        host.plugins.append(LoadedPlugin(name, getattr(obj, "__distribution__", "local"), "local"))

    _check_pending(host)
    _fill_registries(host)
    return host


def _check_pending(host: PluginHost) -> None:
    """Reject plugins implementing unknown hooks, one by one, so the others still load."""
    while True:
        try:
            host.pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            name = host.pm.get_name(exc.plugin) or str(exc.plugin)
            info = host.plugin(name)
            host.pm.unregister(exc.plugin)
            host.plugins = [p for p in host.plugins if p.name != name]
            err = PluginLoadError(
                name, info.distribution if info else "unknown", info.version if info else "unknown", str(exc)
            )
            host.failures.append(PluginFailure(err, ""))
            logger.error("{}", err)


def _fill_registries(host: PluginHost) -> None:
    hooks: dict[str, ComponentRegistry[Any]] = {
        "ai_trading_register_data_sources": host.registries.data_sources,
        "ai_trading_register_strategies": host.registries.strategies,
        "ai_trading_register_sizers": host.registries.sizers,
        "ai_trading_register_risk_checks": host.registries.risk_checks,
        "ai_trading_register_brokers": host.registries.brokers,
        "ai_trading_register_reporters": host.registries.reporters,
        "ai_trading_register_storage": host.registries.storage,
        "ai_trading_register_caches": host.registries.caches,
        "ai_trading_register_alert_channels": host.registries.alert_channels,
    }
    for hook_name, registry in hooks.items():
        caller = getattr(host.pm.hook, hook_name)
        # Call each implementation on its own so that every component records its plugin.
        for impl in reversed(caller.get_hookimpls()):
            try:
                impl.function(registry._bind(impl.plugin_name))
            except DuplicateComponentError as exc:
                host.registry_errors.append(exc)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not hide others
                info = host.plugin(impl.plugin_name)
                err = PluginLoadError(
                    impl.plugin_name,
                    info.distribution if info else "unknown",
                    info.version if info else "unknown",
                    f"{hook_name} raised {type(exc).__name__}: {exc}",
                )
                err.__cause__ = exc
                host.failures.append(PluginFailure(err, traceback.format_exc()))
        registry._bind("<unknown>")


def registry_for(host: PluginHost, role: str) -> ComponentRegistry[Any]:
    for r, registry in host.registries.by_role().items():
        if r.value == role:
            return registry
    raise KeyError(role)
