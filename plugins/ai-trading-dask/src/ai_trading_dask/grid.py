"""Parameter grids: ``--param strategies.0.params.fast=5,10,15`` options, the cartesian
product of their values, and applying one point to a config dict."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from ai_trading_core.errors import ConfigError

Point = dict[str, Any]  # dotted config path -> value


def parse_value(text: str) -> Any:
    """A grid value: JSON scalars (``5``, ``0.5``, ``true``, ``null``, ``"x"``), else the
    text itself as a string."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_param(option: str) -> tuple[str, list[Any]]:
    """``path=v1,v2,...`` -> ``(path, [v1, v2, ...])``."""
    path, sep, values = option.partition("=")
    path = path.strip()
    if not sep or not path or not values.strip():
        raise ConfigError(f"--param {option!r}: expected PATH=V1,V2,... (e.g. strategies.0.params.fast=5,10,15)")
    parsed = [parse_value(v) for v in values.split(",")]
    if len(set(map(json.dumps, parsed))) != len(parsed):
        raise ConfigError(f"--param {option!r}: a value is listed twice")
    return path, parsed


def cartesian_grid(params: list[tuple[str, list[Any]]]) -> list[Point]:
    """Every combination of the values, first parameter varying slowest."""
    paths = [p for p, _ in params]
    if len(set(paths)) != len(paths):
        raise ConfigError(f"--param: a path is given twice ({', '.join(paths)})")
    if not params:
        return [{}]
    return [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*(v for _, v in params))]


def apply_point(config: dict[str, Any], point: Point) -> dict[str, Any]:
    """A copy of ``config`` with each dotted path set (list items by index,
    ``strategies.0.params.fast``). The path's parent must exist; the last key may be new."""
    out = copy.deepcopy(config)
    for path, value in point.items():
        keys = path.split(".")
        node: Any = out
        for i, key in enumerate(keys[:-1]):
            node = _child(node, key, ".".join(keys[: i + 1]), path)
        last = keys[-1]
        if isinstance(node, list):
            node[_index(node, last, path)] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ConfigError(f"--param {path}: {'.'.join(keys[:-1])} is not a table or a list")
    return out


def _child(node: Any, key: str, where: str, path: str) -> Any:
    if isinstance(node, list):
        return node[_index(node, key, path)]
    if isinstance(node, dict):
        if key not in node or node[key] is None:
            if key == "params":
                node[key] = {}
            else:
                raise ConfigError(f"--param {path}: the config has no {where}")
        return node[key]
    raise ConfigError(f"--param {path}: {where} is not a table or a list")


def _index(node: list[Any], key: str, path: str) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise ConfigError(f"--param {path}: {key!r} is not an index of a list of {len(node)}")
    return int(key)
