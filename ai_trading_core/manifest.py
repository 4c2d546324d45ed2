"""Run manifests: what it takes to reproduce a run.

Every run writes ``<output_dir>/<run_id>/manifest.json`` holding the kernel version, the
(redacted) config and its hash, the plugins with their versions, the run's seed, a
fingerprint of the bars it ran on and a digest of its result. ``ai-trading replay MANIFEST``
(:mod:`ai_trading_core.replay`) re-runs it and checks each of these.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import ConfigError
from .files import atomic_write_text
from .market import BarPanel
from .redaction import MASK, redact_config
from .rundoc import rows

if TYPE_CHECKING:
    from .config import AppConfig

MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"


def result_digest(document: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON (sorted keys, no spaces) of the run document's
    ``equity_curve``, ``orders`` and ``trades``, in the document's own layout (column tables
    since schema 2): equal digests mean the same fills, trades and equity at every bar."""
    return _digest({k: document[k] for k in ("equity_curve", "orders", "trades")})


def row_digest(document: dict[str, Any]) -> str:
    """The :func:`result_digest` that the same result had in a schema 1 document (orders and
    trades as lists of objects), from a document of either layout: a manifest recorded before
    schema 2 still replays."""
    return _digest({"equity_curve": document["equity_curve"], **{k: rows(document, k) for k in ("orders", "trades")}})


def _digest(part: dict[str, Any]) -> str:
    # check_circular=False: a document is a tree; the check is pure overhead on a
    # million-point equity curve and changes nothing in the text
    text = json.dumps(
        part, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
    )
    return hashlib.sha256(text.encode()).hexdigest()


def replayable_config(config: AppConfig, redacted: dict[str, Any]) -> dict[str, Any]:
    """The config as given (component parameters unexpanded, so its hash is the run's
    ``config_hash``), credentials left out and every parameter the redacted config masks
    (a component's ``SecretStr`` fields) masked here too, and, by construction, every URL/DSN
    password and secret-named value (:func:`~ai_trading_core.redaction.redact_config`)."""
    doc = config.model_dump(mode="json", exclude={"credentials"})

    def mask(section: dict[str, Any] | None, shown: dict[str, Any] | None) -> None:
        if not section or not shown:
            return
        shown_params = shown.get("params") or {}
        for key in section.get("params") or {}:
            if shown_params.get(key) == MASK:
                section["params"][key] = MASK

    for key in ("data", "sizer", "broker", "storage", "cache"):
        mask(doc.get(key), redacted.get(key))
    for key in ("strategies", "risk", "reporters", "alerts"):
        for section, shown in zip(doc.get(key) or [], redacted.get(key) or [], strict=False):
            mask(section, shown)
    replay: dict[str, Any] = redact_config(doc)  # URL/DSN passwords, secret-named values
    return replay


def build_manifest(document: dict[str, Any], config: AppConfig, panel: BarPanel) -> dict[str, Any]:
    """The manifest of a finished run, from its run document, its config and the bars it ran
    on. ``config`` is the document's redacted config (defaults filled in, for reading);
    ``replay_config`` is the config as given, which replay rebuilds and hashes."""
    seed, data_source = config.run.seed, config.data.name
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": document["run_id"],
        "kernel_version": __version__,
        "config_hash": document["config_hash"],
        "config": document["config"],
        "replay_config": replayable_config(config, document["config"]),
        "profile": config.profile,  # the environment profile the run was loaded with
        "plugins": document["plugins"],
        "seed": seed,
        "data": {
            "source": data_source,
            "fingerprint": panel.fingerprint(),
            "timeframe": panel.timeframe.value,
            "symbols": list(panel.symbols),
            "bars": int(len(panel.timestamps)),
            "start": document["start"],
            "end": document["end"],
        },
        "result_digest": result_digest(document),
        # the sealed head of the run's audit chain (see ai_trading_core.audit), when it has one
        "audit": document.get("audit"),
    }


def write_manifest(manifest: dict[str, Any], run_dir: Path) -> Path:
    """Write ``manifest.json`` atomically, mode 0600 (a manifest describes where a run's data
    lives; it is no one else's to read)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / MANIFEST_NAME
    atomic_write_text(path, json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False) + "\n")
    return path


def read_manifest(path: str | Path) -> dict[str, Any]:
    """Read and sanity-check a manifest; :class:`ConfigError` naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"manifest not found: {path}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise ConfigError(f"{path}: a manifest is a JSON object")
    required = (
        "manifest_version",
        "run_id",
        "config",
        "replay_config",
        "config_hash",
        "plugins",
        "seed",
        "data",
        "result_digest",
    )
    missing = [k for k in required if k not in manifest]
    if missing:
        raise ConfigError(f"{path}: not a run manifest (missing {', '.join(missing)})")
    if manifest["manifest_version"] != MANIFEST_VERSION:
        raise ConfigError(
            f"{path}: manifest version {manifest['manifest_version']} is not supported "
            f"(this kernel reads version {MANIFEST_VERSION})"
        )
    return manifest
