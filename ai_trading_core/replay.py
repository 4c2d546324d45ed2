"""``ai-trading replay MANIFEST``: re-run a recorded run and prove it is the same run.

Before running, the replay rebuilds the config from the manifest (credentials come from the
environment, as they never enter a manifest) and checks that its hash, the installed plugin
versions and the fingerprint of the bars the data source delivers all match the record. It
then runs with the recorded ``run_id`` (backtest client order ids derive from it), into the
recorded output directory, and checks the digest of the equity curve, orders and trades.

The replay's audit events are appended to the run's audit trail (the hash chain continues).
Its manifest replaces the recorded one only when the two are identical; otherwise the record
is kept and the replay's manifest is written next to it as ``manifest.replay.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .config import AppConfig, config_from_dict
from .errors import AiTradingError, ConfigError
from .manifest import read_manifest, result_digest, row_digest
from .market import BarPanel
from .plugins import PluginHost, create_plugin_host
from .redaction import MASK
from .registry import BuildContext
from .runner import RunOutcome, _bound, host_for_config, run_config


class ReplayMismatch(AiTradingError):
    """A replay that did not reproduce its manifest."""

    exit_code = 4


def config_from_manifest(manifest: dict[str, Any]) -> AppConfig:
    """The run's config from its manifest. Credentials are dropped (the environment
    supplies them); a component parameter that was redacted cannot be replayed."""
    doc = json.loads(json.dumps(manifest["replay_config"]))
    doc.pop("credentials", None)
    masked = _masked_paths(doc, "")
    if masked:
        raise ConfigError(
            f"cannot replay: parameter(s) {', '.join(masked)} were redacted in the manifest; "
            "pass secrets through [credentials] so runs stay replayable"
        )
    return config_from_dict(doc)


def _masked_paths(value: Any, where: str) -> list[str]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _masked_paths(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _masked_paths(v, f"{where}[{i}]")]
    return [where] if isinstance(value, str) and MASK in value else []  # a redacted URL too


def plugin_problems(manifest: dict[str, Any], host: PluginHost) -> list[str]:
    """Recorded plugins missing or at another version now (and plugins active now that the
    run did not have)."""
    recorded = {p["name"]: p for p in manifest["plugins"]}
    active = {p.name: p for p in host.plugins}
    problems = []
    for name, rec in recorded.items():
        now = active.get(name)
        if now is None:
            problems.append(f"plugin {name} ({rec['distribution']} {rec['version']}) is not installed")
        elif now.version != rec["version"]:
            problems.append(f"plugin {name}: recorded {rec['distribution']} {rec['version']}, installed {now.version}")
    for name in sorted(set(active) - set(recorded)):
        problems.append(
            f"plugin {name} ({active[name].distribution} {active[name].version}) is active now "
            "but was not in the recorded run"
        )
    return problems


def load_panel(config: AppConfig, host: PluginHost) -> BarPanel:
    """The bars the configured data source delivers for the run's date range (built as the
    runner builds it)."""
    ctx = BuildContext(
        component_id=config.data.instance_id,
        mode=config.run.mode,
        initial_cash=config.run.initial_cash,
        currency=config.run.currency,
        state_dir=config.run.state_dir,
        credentials=config.credentials,
        seed=config.run.seed,
    )
    source = host.registries.data_sources.get(config.data.name).build(config.data.params, ctx)
    panel: BarPanel = source.load(_bound(config.run.start, False), _bound(config.run.end, True))
    return panel


def replay_host(config: AppConfig, manifest: dict[str, Any], disable: tuple[str, ...] = ()) -> PluginHost:
    """The plugins to replay with: the config's explicit load list, or else exactly the plugins
    the recorded run had (a plugin installed since then stays unloaded instead of failing the
    replay); ``disable`` (``--disable-plugin``) applies on top."""
    if config.plugins.load:
        return host_for_config(config, disable=disable)
    recorded = sorted(p["name"] for p in manifest["plugins"] if p.get("distribution") != "ai-trading-core")
    host = create_plugin_host(only=[n for n in recorded if n not in disable], disable=disable)
    host.raise_for_registry_errors()
    return host


def replay(
    manifest_path: str | Path, *, disable: tuple[str, ...] = ()
) -> tuple[RunOutcome | None, bool, list[str]]:
    """Replay a run from its manifest. Returns ``(outcome, ok, problems)``; ``outcome`` is
    None when a check before the run failed (the run is not attempted then)."""
    manifest_path = Path(manifest_path)
    recorded_text = manifest_path.read_text(encoding="utf-8") if manifest_path.is_file() else ""
    manifest = read_manifest(manifest_path)
    config = config_from_manifest(manifest)
    problems: list[str] = []
    if config.config_hash() != manifest["config_hash"]:
        problems.append(
            f"config hash: recorded {manifest['config_hash'][:12]}, rebuilt {config.config_hash()[:12]} "
            "(an AI_TRADING_* environment variable overriding the config?)"
        )
    host = replay_host(config, manifest, disable)
    problems += plugin_problems(manifest, host)
    if problems:
        return None, False, problems
    panel = load_panel(config, host)
    fingerprint = panel.fingerprint()
    if fingerprint != manifest["data"]["fingerprint"]:
        recorded_fp = manifest["data"]["fingerprint"]
        return (
            None,
            False,
            [
                f"data fingerprint: recorded {recorded_fp[:12]}, now {fingerprint[:12]} "
                f"({len(panel.timestamps)} bars of {', '.join(panel.symbols)} from {config.data.name!r}; "
                f"recorded {manifest['data']['bars']} bars)"
            ],
        )
    outcome = run_config(config, host, panel=panel, run_id=manifest["run_id"])
    digest = result_digest(outcome.document)
    # a manifest recorded before schema 2 digested orders and trades as lists of objects
    legacy = digest != manifest["result_digest"] and row_digest(outcome.document) == manifest["result_digest"]
    if digest != manifest["result_digest"] and not legacy:
        problems.append(
            f"result digest: recorded {manifest['result_digest'][:12]}, replayed {digest[:12]} "
            "(equity curve, orders or trades differ)"
        )
    new_path = outcome.manifest_path
    if new_path is not None and recorded_text and new_path.resolve() == manifest_path.resolve():
        replayed_text = new_path.read_text(encoding="utf-8")
        # the replay continues the run's audit chain and seals it anew: its head differs by
        # design (the recorded head stays in the chain), the rest must not
        if _without_audit(replayed_text, legacy) != _without_audit(recorded_text, legacy):
            if not problems:
                problems.append("manifest: the replay's manifest differs from the recorded one")
            new_path.with_name("manifest.replay.json").write_text(replayed_text, encoding="utf-8")
        if replayed_text != recorded_text:
            new_path.write_text(recorded_text, encoding="utf-8")
    return outcome, not problems, problems


def _without_audit(manifest_text: str, legacy: bool = False) -> Any:
    """The manifest without its audit head (and without its result digest when the record's
    digest is of the schema 1 layout, checked by :func:`row_digest` instead)."""
    doc = json.loads(manifest_text)
    if isinstance(doc, dict):
        doc.pop("audit", None)
        if legacy:
            doc.pop("result_digest", None)
    return doc


@click.command("replay")
@click.argument("manifest_path", type=click.Path(path_type=Path))
@click.option("--json-out", type=click.Path(path_type=Path), help="Write the replayed run document (JSON) here.")
@click.pass_context
def replay_command(ctx: click.Context, manifest_path: Path, json_out: Path | None) -> None:
    """Re-run a recorded run from its manifest.json and check it reproduces exactly.

    Only the plugins the recorded run had are loaded (plus any ``--disable-plugin``)."""
    disabled = tuple((ctx.obj or {}).get("disabled", ()))
    outcome, ok, problems = replay(manifest_path, disable=disabled)
    if outcome is not None and json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(outcome.document, indent=1, allow_nan=False))
    if not ok:
        raise ReplayMismatch(f"{manifest_path}: replay does not reproduce the run: " + "; ".join(problems))
    assert outcome is not None
    m = outcome.document["metrics"]
    click.echo(
        f"{manifest_path}: OK, run {outcome.document['run_id'][:12]} reproduced "
        f"({outcome.document['bars']} bars, {m['order_count']} orders, final equity {m['final_equity']:,.2f})"
    )
