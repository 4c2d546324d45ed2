"""The secrets file reaches components through the ``ai_trading_load_credentials`` hook."""

from __future__ import annotations

from typing import Any

from ai_trading_secrets.keys import generate_key
from ai_trading_secrets.store import SecretsFile
from pydantic import BaseModel

from ai_trading_core import hookimpl
from ai_trading_core.config import config_from_dict
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.runner import run_config
from ai_trading_core.testing import random_walk_panel


class _SeenSecrets:
    """A reporter that records the credential it was built with (fakes a vendor component)."""

    name = "seen"

    def __init__(self, value: str) -> None:
        self.value = value

    def report(self, result: Any) -> Any:
        from ai_trading_core.protocols import ReportSection

        return ReportSection()

    def render(self, result: Any, section: Any, console: Any) -> None:
        pass


class _Plugin:
    def __init__(self) -> None:
        self.built: list[_SeenSecrets] = []

    @hookimpl
    def ai_trading_register_reporters(self, registry):  # type: ignore[no-untyped-def]
        class NoParams(BaseModel):
            pass

        def build(params: Any, ctx: Any) -> _SeenSecrets:
            comp = _SeenSecrets(ctx.secret("broker_key").get_secret_value())
            self.built.append(comp)
            return comp

        registry.register("seen", build, params=NoParams)


def test_secrets_file_credentials_reach_components(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ai_trading_secrets.keys import parse_keys

    key = generate_key()
    path = tmp_path / "secrets.json"
    SecretsFile(path).set("broker_key", "from-the-file", parse_keys(key.decode(), "test"))
    monkeypatch.setenv("AI_TRADING_SECRETS_FILE", str(path))
    monkeypatch.setenv("AI_TRADING_SECRETS_KEY", key.decode())
    plugin = _Plugin()
    host = create_plugin_host(extra_plugins={"seen": plugin})
    cfg = {"data": {"name": "synthetic"}, "audit": {"enabled": False}, "reporters": [{"name": "seen"}],
           "strategies": [{"name": "sma_crossover", "params": {"fast": 5, "slow": 20}}]}
    run_config(config_from_dict(cfg), host, panel=random_walk_panel(60, 1))
    assert plugin.built[-1].value == "from-the-file"
    # the config's own credentials win over the file
    run_config(config_from_dict({**cfg, "credentials": {"broker_key": "from-config"}}), host,
               panel=random_walk_panel(60, 1))
    assert plugin.built[-1].value == "from-config"
