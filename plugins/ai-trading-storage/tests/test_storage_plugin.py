from __future__ import annotations

from pathlib import Path

from ai_trading_storage import plugin

from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.protocols import Storage
from ai_trading_core.registry import BuildContext


def test_registers_sql_storage_and_builds_it(tmp_path: Path) -> None:
    host = create_plugin_host(autoload=False, extra_plugins={"storage": plugin})
    spec = host.registries.storage.get("sql")
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = spec.build({"url": url, "pool_size": 2}, BuildContext(component_id="sql"))
    try:
        assert isinstance(store, Storage)
    finally:
        store.close()
    assert "ai_trading_register_commands" in host.hooks_of("storage")
