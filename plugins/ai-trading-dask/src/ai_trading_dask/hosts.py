"""Loaded plugin hosts kept on each Dask worker and reused by every run it executes.

Creating a plugin host imports and registers the plugins a config loads; doing it once per
grid point made a sweep's fixed cost grow with the grid. :class:`PluginHostCache` is a
``distributed`` worker plugin: registered once per client (idempotent, so a walk-forward's
second sweep finds the hosts of its first), it holds one host per plugin selection and per
worker thread (a run registers its components with the host's plugin manager for the run's
duration, so two threads must not share one). The same code runs on a ``LocalCluster`` and on
workers of a scheduler given by address; outside a worker, or where the plugin is not
registered, a run builds its own host as before.
"""

from __future__ import annotations

import threading
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from ai_trading_core.config import AppConfig
from ai_trading_core.plugins import PluginHost

PLUGIN_NAME = "ai-trading-plugin-hosts"


def host_key(config: AppConfig) -> tuple[object, ...]:
    """What decides which plugins a host loads (and whether it may be built at all)."""
    return (tuple(config.plugins.load or ()), tuple(config.plugins.disable), config.run.mode)


class PluginHostCache(WorkerPlugin):
    """One loaded :class:`~ai_trading_core.plugins.PluginHost` per plugin selection and worker
    thread, built on first use and reused by the worker's later runs."""

    idempotent = True
    name = PLUGIN_NAME

    def __init__(self) -> None:
        self._local: threading.local | None = None
        self.built = 0  # hosts created on this worker (reuse shows as a small number)

    def setup(self, worker: Any) -> None:
        self._local = threading.local()

    def teardown(self, worker: Any) -> None:
        self._local = None

    def host_for(self, config: AppConfig) -> PluginHost:
        from ai_trading_core.runner import host_for_config

        local = self._local
        if local is None:  # not set up on a worker: nothing to keep
            return host_for_config(config)
        hosts: dict[tuple[object, ...], PluginHost] = local.__dict__.setdefault("hosts", {})
        key = host_key(config)
        host = hosts.get(key)
        if host is None:
            host = hosts[key] = host_for_config(config)
            self.built += 1
        return host

    def __getstate__(self) -> dict[str, Any]:  # sent to the workers before setup
        return {"built": 0}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._local = None
        self.built = int(state.get("built", 0))


def worker_host(config: AppConfig) -> PluginHost | None:
    """The calling worker's cached host for ``config``; None outside a worker or when no
    :class:`PluginHostCache` is registered there."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except ValueError:
        return None
    cache = worker.plugins.get(PLUGIN_NAME)
    return cache.host_for(config) if isinstance(cache, PluginHostCache) else None


def hosts_built(dask_worker: Any) -> int:
    """Run on every worker (``client.run(hosts_built)``): how many hosts it created."""
    cache = dask_worker.plugins.get(PLUGIN_NAME)
    return cache.built if isinstance(cache, PluginHostCache) else 0
