"""Render the configuration reference (``docs/configuration.md``) from the pydantic models of
``ai_trading_core.config``.

Usage::

    python docs/gen_config_reference.py            # rewrite docs/configuration.md
    python docs/gen_config_reference.py --check    # exit 1 when the committed file is stale

The hand-written parts (environment overrides, ``.env``, credentials) live in this script as
well, so the whole page is generated and ``tests/test_docs.py`` can require it to be current.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ai_trading_core.config import AppConfig, ComponentConfig, StrategyConfig

OUTPUT = Path(__file__).with_name("configuration.md")

# Field notes the models carry as comments rather than descriptions; kept here until the
# kernel's models grow ``Field(description=...)`` for every field.
NOTES: dict[str, str] = {
    "run.mode": "`backtest`, `paper` (the live loop over a replayed feed) or `live`.",
    "run.name": "A label copied into the run document and the session.",
    "run.initial_cash": "Starting cash, currency; must be > 0. Write it as a string to keep it exact.",
    "run.currency": "Currency of cash and equity.",
    "run.start": "First bar's open time (inclusive). A plain date means 00:00 UTC that day; a datetime must carry a timezone.",
    "run.end": "Last bar's open time (inclusive). A plain date means the end of that UTC day.",
    "run.seed": "Seed handed to every component (`BuildContext.seed`).",
    "run.benchmark": "Symbol of the data whose closes are the benchmark series (reporters use it).",
    "run.output_dir": "Where `<run_id>/audit.jsonl` and `<run_id>/log.jsonl` go.",
    "run.state_dir": "Where components keep state across restarts (`BuildContext.state_dir`).",
    "run.on_error": "What a failed decision path does: `halt` (HALTED) or `flatten` (REDUCING and close every position).",
    "run.rebalance": "`on_signal`: act only when a symbol's combined target changes; `every_bar`: re-size at every bar.",
    "run.engine": "Backtest engine: per_bar steps every bar (what live uses); block asks strategies for signal_block over the whole panel and steps only where something happens. Same trades and equity.",
    "run.close_at_end": "Flatten every position after the last bar (orders fill only if the broker gets another bar).",
    "run.replay_speed": "Paper mode over a replayed feed: multiple of real time; 0 = as fast as possible.",
    "run.on_stop": "Live mode, when the process is told to stop (SIGTERM, SIGINT) or the data stream ends: "
                   "`cancel` halts and cancels every open order at the broker, `keep` leaves them working.",
    "run.resume": "Paper and live modes with a storage that can resume runs (the `sql` storage): when an "
    "unfinished run of the same config is found (the process was killed), it is resumed: the ledger is "
    "rebuilt from the recorded fills, open orders are looked up at the broker, the account is reconciled, "
    "and trading continues after the last completed step. A live run stopped cleanly (SIGTERM) is resumed "
    "the same way; a paper run is finished when its replay ends. `false` always starts a new run.",
    "plugins.load": "Explicit list of entry-point names to load; required in live mode. Unset: every installed plugin.",
    "plugins.disable": "Entry-point names not to load.",
    "audit.enabled": "Write the hash-chained JSON-lines audit trail.",
    "audit.path": "Audit file; default `<output_dir>/<run_id>/audit.jsonl`.",
    "logging.level": "Level of the per-run JSON log.",
    "logging.json_path": "JSON-lines log; default `<output_dir>/<run_id>/log.jsonl`.",
    "component.name": "A registered component name (see `ai-trading plugins list`).",
    "component.id": "Instance id; defaults to `name`.",
    "strategy.id": "Strategy id (signals, orders, trades, attribution); defaults to `name`. Must be unique.",
    "component.params": "Parameters validated by the component's own pydantic model.",
    "strategy.weight": "Multiplier of this strategy's targets when targets are combined (summed).",
}

TOP_NOTES: dict[str, str] = {
    "run": "How the run is driven.",
    "plugins": "Which plugins load.",
    "data": "The data source component. Required.",
    "strategies": "One table per strategy. At least one.",
    "sizer": "The position sizer component.",
    "risk": "Pre-trade risk checks, applied in this order.",
    "broker": "The broker component.",
    "reporters": "Reporters: metrics in the run document, printed summaries, HTML reports.",
    "storage": "Durable storage of orders, fills, audit events and runs.",
    "cache": "A key-value cache with pub/sub.",
    "alerts": "Alert channels; each receives every alert of the run.",
    "audit": "The embedded audit trail.",
    "logging": "The per-run structured log.",
    "credentials": "Named secrets for components (`SecretStr`); see below.",
}


def type_name(annotation: Any) -> str:
    """A short, readable name for a field annotation."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return " | ".join(f'"{a}"' for a in typing.get_args(annotation))
    if origin in (list, tuple, set):
        args = typing.get_args(annotation)
        return f"{origin.__name__}[{', '.join(type_name(a) for a in args)}]"
    if origin is dict:
        k, v = typing.get_args(annotation)
        return f"dict[{type_name(k)}, {type_name(v)}]"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " | ".join(f'"{m.value}"' for m in annotation)
    if isinstance(annotation, type) and annotation.__module__.startswith("pathlib"):
        return "path"
    return getattr(annotation, "__name__", str(annotation))


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if value is PydanticUndefined:
        return "required"
    if isinstance(value, BaseModel):
        dumped = value.model_dump(mode="json", exclude_defaults=True)
        return f"`{dumped}`" if dumped else "see below"
    if isinstance(value, Enum):
        return f'`"{value.value}"`'
    if value is None:
        return "unset"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | dict) and not value:
        return "`[]`" if isinstance(value, list) else "`{}`"
    return f"`{value}`"


def constraints(field: FieldInfo) -> str:
    out = []
    for meta in field.metadata:
        for attr, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("min_length", "min length")):
            value = getattr(meta, attr, None)
            if value is not None:
                out.append(f"{sym} {value}")
    return ", ".join(out)


def field_rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}.{name}"
        # Strategy tables share the component fields' notes.
        note = field.description or NOTES.get(key) or NOTES.get(f"component.{name}", "")
        extra = constraints(field)
        if extra:
            note = f"{note} ({extra})" if note else f"({extra})"
        rows.append(f"| `{name}` | {cell(type_name(field.annotation))} | {default_text(field)} | {note} |")
    return rows


def cell(text: str) -> str:
    """Escape pipes so that union types stay inside one table cell."""
    return text.replace("|", "\\|")


def table(model: type[BaseModel], prefix: str) -> list[str]:
    return ["| field | type | default | meaning |", "|---|---|---|---|", *field_rows(model, prefix)]


def nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The pydantic model inside an annotation, and whether it is a list of them."""
    origin = typing.get_origin(annotation)
    if origin is list:
        inner, _ = nested_model(typing.get_args(annotation)[0])
        return inner, True
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            inner, is_list = nested_model(arg)
            if inner is not None:
                return inner, is_list
        return None, False
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def render() -> str:
    out: list[str] = [
        "# Configuration reference",
        "",
        "<!-- Generated by docs/gen_config_reference.py from ai_trading_core.config; do not edit by hand.",
        "     tests/test_docs.py fails when this file is out of date. -->",
        "",
        "A run is configured by one TOML or JSON file (same schema), read by `ai-trading run CONFIG` and",
        "`ai-trading validate CONFIG` (`ai_trading_core.config.load_config`). The top-level tables",
        "are the sections of `AppConfig`; unknown keys are errors everywhere. Component tables",
        "(`data`, `strategies`, `sizer`, `risk`, `broker`, `reporters`, `storage`, `cache`, `alerts`)",
        "pick a registered component by `name` and pass `params` to its own pydantic model, which",
        "validates them when the run starts (`ai-trading plugins list` shows every registered name;",
        "each plugin's README lists its parameters).",
        "",
        "```toml",
        "[run]",
        'mode = "backtest"',
        'initial_cash = "100000"',
        "start = 2005-01-03",
        "end = 2012-12-31",
        "",
        "[data]",
        'name = "arch_indices"',
        'params = { symbols = ["SP500"] }',
        "",
        "[[strategies]]",
        'name = "sma_crossover"',
        'id = "sma-10-30"',
        "params = { fast = 10, slow = 30 }",
        "",
        "[broker]",
        'name = "sim"',
        "params = { commission_bps = 1.0, slippage_bps = 2.0 }",
        "```",
        "",
        "## Sections",
        "",
        "| section | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in AppConfig.model_fields.items():
        out.append(
            f"| [`{name}`](#{name}) | {cell(type_name(field.annotation))} | {default_text(field)} | "
            f"{TOP_NOTES.get(name, '')} |"
        )
    out.append("")
    for name, field in AppConfig.model_fields.items():
        model, is_list = nested_model(field.annotation)
        out.append(f"## {name}")
        out.append("")
        note = TOP_NOTES.get(name, "")
        header = f"`[[{name}]]`" if is_list else f"`[{name}]`"
        out.append(f"{header}: {note}" if note else header)
        out.append("")
        if model is None:
            out.append(f"Type `{type_name(field.annotation)}`, default {default_text(field)}.")
            out.append("")
            continue
        prefix = {ComponentConfig: "component", StrategyConfig: "strategy"}.get(model, name)
        out.extend(table(model, prefix))
        out.append("")
    out.extend(TAIL)
    return "\n".join(out).rstrip() + "\n"


TAIL = [
    "## Environment overrides",
    "",
    "Every setting can be overridden by an environment variable named `AI_TRADING_` plus the",
    "path of the key in upper case, with `__` between levels. Environment values win over the",
    "file; empty variables are ignored.",
    "",
    "```bash",
    "AI_TRADING_RUN__INITIAL_CASH=50000 ai-trading run examples/quickstart.toml",
    "AI_TRADING_RUN__MODE=paper ai-trading run examples/quickstart.toml",
    "AI_TRADING_AUDIT__ENABLED=false ai-trading run examples/quickstart.toml",
    "```",
    "",
    "A nested table given whole in the environment is JSON, for example",
    '`AI_TRADING_BROKER=\'{"name": "sim", "params": {"slippage_bps": 5}}\'`.',
    "`ai-trading run --mode paper` is a shortcut for `AI_TRADING_RUN__MODE`.",
    "",
    "## The `.env` file",
    "",
    "A `.env` file beside the config and one in the working directory are read as well (same",
    "names as the environment variables; the one beside the config wins over the working",
    "directory's, the real environment wins over both). Only `AI_TRADING_*` names are settings",
    "(an unknown one is an error); other tools' variables in the file are left alone. It is the",
    "place for credentials on a developer machine; keep it out of version control.",
    "",
    "```bash",
    "# .env",
    "AI_TRADING_CREDENTIALS__ALPACA_KEY_ID=PK...",
    "AI_TRADING_CREDENTIALS__ALPACA_SECRET_KEY=...",
    "```",
    "",
    "## Profiles, JSON and `.env` files",
    "",
    "A config file is TOML, or JSON when its name ends in `.json`: the same schema and the same",
    "errors (`ai-trading run config.json`, `load_config(\"config.json\")`). It may hold named",
    "overrides, `[profiles.<name>]` tables, and may sit beside `<stem>.<name>.toml` or",
    "`<stem>.<name>.json` files. The profile comes from `--env NAME` (`ai-trading run` and",
    "`validate`), else `TRADING_ENVIRONMENT` in the environment, else `TRADING_ENVIRONMENT` in a",
    "`.env` file. A name the config does not define is an error listing the defined ones, unless",
    "the config defines no profile at all. The run document and the manifest record it",
    "(`profile`). `examples/profiles.toml` has a research, a paper and a production profile.",
    "",
    "```toml",
    "[run]",
    'mode = "paper"',
    "",
    "[profiles.production.run]",
    'mode = "live"',
    "",
    "[profiles.production.plugins]",
    'load = ["alpaca", "sma", "killswitch", "circuit-breaker"]',
    "```",
    "",
    "Precedence, weakest first: the file; its `[profiles.<name>]` table; the `<stem>.<name>.*`",
    "file beside it; `.env` in the working directory; `.env` beside the config; the process",
    "environment (`AI_TRADING_*`); command-line overrides (`--mode`). Tables merge key by key;",
    "arrays (`[[strategies]]`, `[[risk]]`, `load = [...]`) and values are replaced whole.",
    "",
    "`load_config()` without a path reads `$AI_TRADING_CONFIG`, else `config.toml` or",
    "`config.json` in the working directory.",
    "",
    "### The production profile",
    "",
    "The profile named `production` refuses, when the config is validated or run, what is",
    "unsafe for real money, one line per problem:",
    "",
    "- no explicit `[plugins] load` list;",
    '- no kill switch (`[[risk]] name = "kill_switch"`);',
    "- a secret written in the config file: a `[credentials]` value, a URL with a password, a",
    "  component parameter its model declares secret or named like one (`api_key`, `password`);",
    "- a component bound beyond loopback (`host` other than 127.0.0.1, ::1, localhost) without",
    "  authentication (a bearer token whose `token_credential` names a configured credential, or",
    "  an `auth`/`password_hash` parameter);",
    "- a paper or sandbox broker account in live mode, or a live account in paper mode.",
    "",
    "```text",
    "$ TRADING_ENVIRONMENT=production ai-trading validate config.toml",
    "error: config.toml: profile 'production' refuses this config (3 problems):",
    "  - plugins.load: production needs an explicit [plugins] load = [...] list",
    '  - risk: production needs a kill switch ([[risk]] name = "kill_switch")',
    "  - credentials.alpaca_api_key: a secret written in the config file; set AI_TRADING_CREDENTIALS__ALPACA_API_KEY "
    "in the environment or use the encrypted secrets file",
    "```",
    "",
    "## Credentials",
    "",
    "`[credentials]` maps names to secrets. They are `pydantic.SecretStr`: printed as",
    "`**********`, excluded from `config_hash`, replaced by `**********` in the run document's",
    "`config`, and never echoed by validation errors. Components read them through their build",
    'context, `ctx.secret("alpaca_key_id")`, which raises `ConfigError` naming the missing',
    "credential and the variable that would set it. Prefer the environment or `.env` to writing",
    "secrets in the TOML file.",
    "",
    "## Errors",
    "",
    "`load_config` raises `ConfigError` with one line naming the file and every problem",
    "(`location: message (got value)`); the CLI prints it and exits with status 2. A component",
    "name that no loaded plugin registered is an `UnknownComponentError` listing the registered",
    "names. Live mode without an explicit `[plugins] load` list is refused.",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is out of date")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python docs/gen_config_reference.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
