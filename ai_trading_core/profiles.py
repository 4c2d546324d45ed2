"""Environment profiles and config files in TOML or JSON.

A config file may carry named overrides, ``[profiles.<name>]`` tables, and may sit beside
``<stem>.<name>.toml`` / ``<stem>.<name>.json`` files; ``TRADING_ENVIRONMENT`` (or
``ai-trading --env NAME``, or ``load_config(..., profile=NAME)``) picks one. The profile named
``production`` also refuses, with one line per problem, what is unsafe for real money
(:func:`production_problems`).

Precedence, weakest first: the config file, its ``[profiles.<name>]`` table, the
``<stem>.<name>.*`` file beside it, ``.env`` in the working directory, ``.env`` beside the
config, the process environment, explicit overrides (``--mode``). Tables merge key by key;
arrays (``[[strategies]]``, ``[[risk]]`` ...) and scalars are replaced whole.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

from .endpoints import is_loopback
from .errors import ConfigError

if TYPE_CHECKING:
    from .config import AppConfig, ComponentConfig
    from .plugins import PluginHost

#: Environment variable naming the profile (the original design's name).
ENV_VAR = "TRADING_ENVIRONMENT"
#: The profile that refuses configs unsafe for real money.
PRODUCTION = "production"
#: Risk check that must be configured in production (``ai-trading-killswitch``).
KILL_SWITCH = "kill_switch"
PROFILES_KEY = "profiles"
SUFFIXES = (".toml", ".json")


def read_document(path: Path) -> dict[str, Any]:
    """The top-level table of a TOML (any suffix but ``.json``) or JSON config file.

    :raises ConfigError: naming the file when it is missing or not valid TOML / JSON.
    """
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path.suffix.lower() == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ConfigError(f"{path}: a JSON config is an object at the top level, got {type(doc).__name__}")
        return doc
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: tables merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def profile_files(path: Path, name: str) -> list[Path]:
    """The existing ``<stem>.<name>.toml`` / ``.json`` files beside ``path``."""
    return [p for p in (path.with_name(f"{path.stem}.{name}{s}") for s in SUFFIXES) if p.is_file()]


def _defined_profiles(path: Path, tables: Mapping[str, Any]) -> list[str]:
    names = set(tables)
    for suffix in SUFFIXES:
        for p in path.parent.glob(f"{path.stem}.*{suffix}"):
            middle = p.name[len(path.stem) + 1 : -len(suffix)]
            if middle and "." not in middle:
                names.add(middle)
    return sorted(names)


def apply_profile(doc: dict[str, Any], name: str | None, path: Path) -> dict[str, Any]:
    """``doc`` without its ``profiles`` table, with profile ``name`` applied.

    A name the config does not define is accepted when the config defines no profile at all
    (the profile's rules, such as production's, still apply); otherwise it is an error
    listing the defined names, so that a misspelt name never silently runs the base config.
    """
    tables = doc.get(PROFILES_KEY, {})
    if not isinstance(tables, dict) or not all(isinstance(v, dict) for v in tables.values()):
        raise ConfigError(f"{path}: [profiles] holds one table per profile, e.g. [profiles.production]")
    base = {k: v for k, v in doc.items() if k != PROFILES_KEY}
    if name is None:
        return base
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ConfigError(f"profile name {name!r}: use letters, digits, '-' and '_'")
    files = profile_files(path, name)
    if name not in tables and not files:
        defined = _defined_profiles(path, tables)
        if defined:
            raise ConfigError(
                f"{path}: no profile {name!r} (defined: {', '.join(defined)}); "
                f"add [profiles.{name}] or {path.stem}.{name}.toml"
            )
        return base
    merged = deep_merge(base, tables.get(name, {}))
    for extra in files:
        layer = read_document(extra)
        if PROFILES_KEY in layer:
            raise ConfigError(f"{extra}: a profile file cannot define [profiles] itself")
        merged = deep_merge(merged, layer)
    return merged


def profile_name(
    explicit: str | None, env_files: Sequence[Path], environ: Mapping[str, str] | None = None
) -> str | None:
    """The selected profile: ``explicit``, else ``TRADING_ENVIRONMENT`` from the environment,
    else from the ``.env`` files (the last one that sets it wins); None when none does."""
    if explicit:
        return explicit
    environ = os.environ if environ is None else environ
    if environ.get(ENV_VAR):
        return environ[ENV_VAR]
    from dotenv import dotenv_values

    found: str | None = None
    for env_file in env_files:
        if env_file.is_file():
            value = dotenv_values(env_file).get(ENV_VAR)
            found = value or found
    return found


# --------------------------------------------------------------------------- production rules
def _walk(value: Any, where: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _walk(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{where}[{i}]")
    else:
        yield where, value


def _url_password(text: str) -> bool:
    if "://" not in text:
        return False
    try:
        return bool(urlsplit(text).password)
    except ValueError:
        return False


_SECRET_WORDS = ("secret", "password", "passphrase", "token", "api_key", "private_key")
_AUTH_WORDS = ("auth", "token", "password", "username")
_NOT_SECRET_ENDINGS = ("_credential", "_env", "_file", "_path", "_hash", "_url")


def _secret_name(key: str) -> bool:
    """A parameter named like a secret value (``api_key``, ``password``), not like a pointer to
    one (``password_credential``, ``key_file``) or a hash of one (``password_hash``)."""
    k = key.lower()
    return any(w in k for w in _SECRET_WORDS) and not k.endswith(_NOT_SECRET_ENDINGS)


def _authenticated(params: Mapping[str, Any], credentials: set[str]) -> bool:
    """Some authentication is configured: a ``*_credential`` parameter naming a credential
    that exists (an endpoint's bearer token), or an ``auth``/``token``/``password_hash``/
    ``username`` parameter with a value."""
    for key, value in params.items():
        if not value:
            continue
        if str(key).endswith("_credential"):
            if str(value) in credentials:
                return True
        elif any(w in str(key) for w in _AUTH_WORDS):
            return True
    return False


def _plain_param(location: str, field: str) -> str:
    return (
        f"{location}.params.{field}: a secret written in the config file; "
        "use a credential from the environment or the secrets file"
    )


def _secret_fields(model: BaseModel) -> set[str]:
    return {name for name in type(model).model_fields if isinstance(getattr(model, name), SecretStr)}


def _components(config: AppConfig) -> list[tuple[str, str, ComponentConfig]]:
    """(location, role, component) for every configured component."""
    out: list[tuple[str, str, ComponentConfig]] = [
        ("data", "data_source", config.data),
        ("sizer", "sizer", config.sizer),
        ("broker", "broker", config.broker),
    ]
    out += [(f"strategies[{i}]", "strategy", c) for i, c in enumerate(config.strategies)]
    out += [(f"risk[{i}]", "risk_check", c) for i, c in enumerate(config.risk)]
    out += [(f"reporters[{i}]", "reporter", c) for i, c in enumerate(config.reporters)]
    out += [(f"alerts[{i}]", "alert_channel", c) for i, c in enumerate(config.alerts)]
    if config.storage is not None:
        out.append(("storage", "storage", config.storage))
    if config.cache is not None:
        out.append(("cache", "cache", config.cache))
    return out


def _file_params(document: Mapping[str, Any] | None, location: str) -> Mapping[str, Any]:
    """The ``params`` a component was given in the config file itself (not the environment)."""
    if not document:
        return {}
    key, _, index = location.partition("[")
    section: Any = document.get(key)
    if index:
        i = int(index.rstrip("]"))
        section = section[i] if isinstance(section, list) and i < len(section) else None
    params = section.get("params") if isinstance(section, Mapping) else None
    return params if isinstance(params, Mapping) else {}


def production_problems(config: AppConfig, host: PluginHost | None = None) -> list[str]:
    """What makes ``config`` unsafe for real money, one line each (empty: nothing found).

    - no explicit ``[plugins] load`` list (an autoloaded plugin could trade);
    - no ``kill_switch`` risk check;
    - secrets written in the config file: a ``[credentials]`` value, a URL carrying a password,
      or a component parameter its model declares secret (``SecretStr``);
    - a component bound beyond loopback (a ``host`` parameter) without authentication;
    - a paper or sandbox broker in live mode, or a live broker endpoint in paper mode.

    ``host`` gives the components' parameter models (secret fields, defaults such as
    Alpaca's ``paper = true``); without it only what the file says literally is checked.
    """
    from .enums import RunMode

    problems: list[str] = []
    if not config.plugins.load:
        problems.append("plugins.load: production needs an explicit [plugins] load = [...] list")
    if not any(c.name == KILL_SWITCH for c in config.risk):
        problems.append(f'risk: production needs a kill switch ([[risk]] name = "{KILL_SWITCH}")')
    document = config.source_document
    if document:
        for name in document.get("credentials") or {}:
            problems.append(
                f"credentials.{name}: a secret written in the config file; set AI_TRADING_CREDENTIALS__"
                f"{str(name).upper()} in the environment or use the encrypted secrets file"
            )
        for where, value in _walk(document, ""):
            if isinstance(value, str) and _url_password(value):
                problems.append(f"{where}: a URL with a password written in the config file; pass it as a credential")
        for location, _, _component in _components(config):
            written = _file_params(document, location)
            for key in sorted(written):
                if _secret_name(str(key)) and isinstance(written[key], str) and written[key]:
                    problems.append(_plain_param(location, str(key)))
    registries = host.registries.by_role() if host is not None else {}
    credentials = set(config.credentials)  # the file's, .env's and the environment's
    if host is not None:  # and a secrets store's
        for found in host.pm.hook.ai_trading_load_credentials(config=config):
            credentials.update(found or {})
    mode = config.run.mode
    for location, role, component in _components(config):
        label = f"{location} ({component.name})"
        params: dict[str, Any] = dict(component.params)
        registry = next((r for k, r in registries.items() if k.value == role), None)
        if registry is not None and component.name in registry:
            try:
                model = registry.get(component.name).validate(component.params, where=label)
            except ConfigError:
                model = None  # validate_config reports it
            if model is not None:
                params = {**model.model_dump(), **params}
                written = _file_params(document, location)
                for field in sorted(_secret_fields(model)):
                    if written.get(field) and _plain_param(location, field) not in problems:
                        problems.append(_plain_param(location, field))
        bind = params.get("host")
        authenticated = _authenticated(params, credentials)
        if isinstance(bind, str) and not is_loopback(bind) and not authenticated:
            problems.append(f"{label}: listens on {bind}, beyond loopback, without authentication")
        if role != "broker":
            continue
        urls = " ".join(str(v).lower() for k, v in params.items() if k.endswith("url") and v)
        paper_like = params.get("paper") is True or bool(params.get("sandbox")) or bool(params.get("testnet"))
        paper_like = paper_like or any(w in urls for w in ("paper", "sandbox", "testnet"))
        live_like = any(params.get(k) is False for k in ("paper", "sandbox", "testnet"))
        live_like = live_like or ("://" in urls and not _local(urls))
        if mode is RunMode.LIVE and paper_like:
            problems.append(f"{label}: a paper/sandbox broker account in live mode")
        if mode is RunMode.PAPER and live_like and not paper_like:
            problems.append(f"{label}: a live broker account in paper mode (real orders)")
    return problems


def _local(urls: str) -> bool:
    """Every URL in ``urls`` points at this machine (a local test server is no live account)."""
    hosts = [urlsplit(u).hostname or "" for u in urls.split() if "://" in u]
    return bool(hosts) and all(is_loopback(h) for h in hosts)


def check_profile(config: AppConfig, host: PluginHost | None = None) -> None:
    """Raise :class:`ConfigError` listing every production problem, one per line, when the
    config's profile is ``production``."""
    if config.profile != PRODUCTION:
        return
    problems = production_problems(config, host)
    if problems:
        where = f"{config.source_path}: " if config.source_path else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(
            f"{where}profile 'production' refuses this config ({len(problems)} "
            f"problem{'s' if len(problems) != 1 else ''}):\n{lines}"
        )
