"""The plugin module: the only module of this distribution that uses ``@hookimpl``."""

from __future__ import annotations

from ai_trading_core import hookimpl
{%- if cookiecutter.role == "strategy" %}
from ai_trading_core.registry import BuildContext, StrategyRegistry as Registry
{%- elif cookiecutter.role == "data_source" %}
from ai_trading_core.registry import BuildContext, DataSourceRegistry as Registry
{%- elif cookiecutter.role == "broker" %}
from ai_trading_core.registry import BrokerRegistry as Registry, BuildContext
{%- elif cookiecutter.role == "sizer" %}
from ai_trading_core.registry import BuildContext, SizerRegistry as Registry
{%- elif cookiecutter.role == "risk_check" %}
from ai_trading_core.registry import BuildContext, RiskCheckRegistry as Registry
{%- endif %}

from .component import {{ cookiecutter.class_name }}, {{ cookiecutter.class_name }}Params

COMPONENT = "{{ cookiecutter.component }}"


def _build(params: {{ cookiecutter.class_name }}Params, ctx: BuildContext) -> {{ cookiecutter.class_name }}:
{%- if cookiecutter.role == "strategy" %}
    return {{ cookiecutter.class_name }}(params, strategy_id=ctx.component_id)
{%- elif cookiecutter.role == "data_source" %}
    return {{ cookiecutter.class_name }}(params, default_seed=ctx.seed)
{%- elif cookiecutter.role == "risk_check" %}
    return {{ cookiecutter.class_name }}(params, name=ctx.component_id)
{%- else %}
    return {{ cookiecutter.class_name }}(params)
{%- endif %}


@hookimpl
{%- if cookiecutter.role == "strategy" %}
def ai_trading_register_strategies(registry: Registry) -> None:
{%- elif cookiecutter.role == "data_source" %}
def ai_trading_register_data_sources(registry: Registry) -> None:
{%- elif cookiecutter.role == "broker" %}
def ai_trading_register_brokers(registry: Registry) -> None:
{%- elif cookiecutter.role == "sizer" %}
def ai_trading_register_sizers(registry: Registry) -> None:
{%- elif cookiecutter.role == "risk_check" %}
def ai_trading_register_risk_checks(registry: Registry) -> None:
{%- endif %}
    registry.register(COMPONENT, _build, params={{ cookiecutter.class_name }}Params,
                      description="{{ cookiecutter.description }}")
