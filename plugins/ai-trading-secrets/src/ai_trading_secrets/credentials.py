"""Filling the run's ``credentials`` from a secrets file.

Until the kernel reads a secrets file itself, an embedding program calls
:func:`with_secrets_file` on its config before ``run_config``; components keep asking
``BuildContext.secret(name)``. Values given in the config or the environment
(``AI_TRADING_CREDENTIALS__NAME``) take precedence over the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import SecretStr

from ai_trading_core.config import AppConfig

from .keys import KeyRing, as_key_ring, resolve_keys
from .store import SecretsFile

ENV_FILE = "AI_TRADING_SECRETS_FILE"
"""Path of the secrets file a run reads its credentials from."""


def load_credentials(
    path: Path | str, key: str | bytes | Sequence[str | bytes] | KeyRing
) -> dict[str, SecretStr]:
    """Every secret of the file at ``path`` as ``SecretStr``; a missing file gives ``{}``.

    :param key: a key ring, one Fernet key, a comma-separated string of keys (newest first)
        or a list of keys. Raises :class:`~ai_trading_core.errors.SecretsError` when a
        secret does not decrypt.
    """
    return SecretsFile(path).decrypt_all(as_key_ring(key))


def credentials_from_environment(env: Mapping[str, str] | None = None) -> dict[str, SecretStr]:
    """The secrets of the file named by ``AI_TRADING_SECRETS_FILE``, decrypted with
    ``AI_TRADING_SECRETS_KEY`` (or the key file named by ``AI_TRADING_SECRETS_KEY_FILE``);
    ``{}`` when no file is named."""
    env = os.environ if env is None else env
    path = env.get(ENV_FILE, "").strip()
    if not path:
        return {}
    return SecretsFile(path).decrypt_all(resolve_keys(env=env))


def with_credentials(config: AppConfig, secrets: Mapping[str, SecretStr]) -> AppConfig:
    """A copy of ``config`` whose credentials are ``secrets`` overlaid by the config's own
    (explicit configuration and environment win over the file)."""
    return config.model_copy(update={"credentials": {**secrets, **config.credentials}})


def with_secrets_file(
    config: AppConfig, path: Path | str, key: str | bytes | Sequence[str | bytes] | KeyRing
) -> AppConfig:
    """``config`` with the credentials of the secrets file at ``path`` filled in."""
    return with_credentials(config, load_credentials(path, key))
