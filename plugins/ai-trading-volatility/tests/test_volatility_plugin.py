"""The plugin registers its three sizers with validated parameters."""

from __future__ import annotations

import pytest
from ai_trading_volatility import AtrSizer, RiskParitySizer, VolTargetSizer

from ai_trading_core.errors import ConfigError
from ai_trading_core.plugins import create_plugin_host
from ai_trading_core.registry import BuildContext, SizerRegistry


@pytest.fixture(scope="module")
def registry() -> SizerRegistry:
    host = create_plugin_host(only=["volatility"], env={})
    assert not host.failures, [f.error for f in host.failures]
    return host.registries.sizers


def test_volatility_registers_three_sizers(registry: SizerRegistry) -> None:
    for name, cls in (("vol_target", VolTargetSizer), ("atr", AtrSizer), ("risk_parity", RiskParitySizer)):
        spec = registry.get(name)
        assert spec.plugin == "volatility"
        assert isinstance(spec.build({}, BuildContext("sizer")), cls)


def test_vol_target_params_from_config(registry: SizerRegistry) -> None:
    sizer = registry.get("vol_target").build({"halflife": 10, "estimator": "ewma"}, BuildContext("sizer"))
    assert sizer.decay == pytest.approx(0.5 ** (1 / 10))
    assert registry.get("vol_target").build({}, BuildContext("sizer")).decay == 0.94
    assert registry.get("vol_target").build({"lambda_": 0.97}, BuildContext("sizer")).decay == 0.97


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("vol_target", {"lambda_": 0.9, "halflife": 5}, "lambda_ or halflife, not both"),
        ("vol_target", {"estimator": "egarch"}, "estimator"),
        (
            "vol_target",
            {"estimator": "garch", "lookback": 50},
            r"garch_min_obs \(100\) exceeds lookback \(50\)",
        ),
        ("vol_target", {"target_vol": -0.1}, "target_vol"),
        ("atr", {"risk_per_trade": 0}, "risk_per_trade"),
        ("risk_parity", {"method": "hrp"}, "method"),
        ("risk_parity", {"min_periods": 200}, r"min_periods \(200\) exceeds lookback \(126\)"),
        ("risk_parity", {"rebalance": 5}, "Extra inputs are not permitted"),
    ],
)
def test_bad_params_are_config_errors(
    registry: SizerRegistry, name: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        registry.get(name).build(params, BuildContext("sizer"))
