"""The plugin registers its sources through the entry point and builds them from config params."""

from __future__ import annotations

import numpy as np
import pytest
from ai_trading_sample_data.synthetic import SyntheticParams, synthetic_panel

from ai_trading_core.errors import ConfigError
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.registry import BuildContext


@pytest.fixture(scope="module")
def registry():
    host = create_plugin_host(only=["sample-data"], env={})
    assert not host.failures, [f.error for f in host.failures]
    return host.registries.data_sources


def test_sample_data_registers_both_sources(registry) -> None:
    assert {"arch_indices", "synthetic"} <= set(registry.names())
    assert registry.get("arch_indices").plugin == "sample-data"


def test_sample_data_builds_arch_indices_from_config_params(registry) -> None:
    src = registry.get("arch_indices").build({"symbols": ["SP500"]}, BuildContext("data"))
    assert src.load().symbols == ("SP500",)


def test_sample_data_synthetic_seed_defaults_to_the_run_seed(registry) -> None:
    spec = registry.get("synthetic")
    params = {"n_symbols": 3, "n_bars": 20}
    from_ctx = spec.build(params, BuildContext("data", seed=42)).load()
    explicit = synthetic_panel(SyntheticParams(**params), seed=42)
    np.testing.assert_array_equal(from_ctx.close, explicit.close)
    overridden = spec.build({**params, "seed": 1}, BuildContext("data", seed=42)).load()
    assert not np.array_equal(overridden.close, from_ctx.close)


def test_sample_data_params_forbid_unknown_keys(registry) -> None:
    with pytest.raises(ConfigError, match="symbol"):
        registry.get("arch_indices").build({"symbol": "SP500"}, BuildContext("data"))
    with pytest.raises(ConfigError, match="align"):
        registry.get("arch_indices").build({"align": "outer"}, BuildContext("data"))
