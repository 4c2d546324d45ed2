"""Credentials encrypted at rest for ai-trading: a secrets file of Fernet tokens, keys from
the environment or a 0600 key file, rotation with MultiFernet, and the ``ai-trading
secrets`` commands."""

from typing import TYPE_CHECKING

from ai_trading_core.lazy import lazy_exports

if TYPE_CHECKING:
    from .credentials import credentials_from_environment, load_credentials, with_credentials, with_secrets_file
    from .keys import KeyRing, generate_key, parse_keys, read_key_file, resolve_keys, write_key_file
    from .store import SecretsFile

# cryptography is imported on first use, not when the plugin loads
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(
            ["credentials_from_environment", "load_credentials", "with_credentials", "with_secrets_file"],
            ".credentials",
        ),
        **dict.fromkeys(
            ["KeyRing", "generate_key", "parse_keys", "read_key_file", "resolve_keys", "write_key_file"], ".keys"
        ),
        "SecretsFile": ".store",
    },
)

__all__ = [
    "KeyRing",
    "SecretsFile",
    "credentials_from_environment",
    "generate_key",
    "load_credentials",
    "parse_keys",
    "read_key_file",
    "resolve_keys",
    "with_credentials",
    "with_secrets_file",
    "write_key_file",
]
