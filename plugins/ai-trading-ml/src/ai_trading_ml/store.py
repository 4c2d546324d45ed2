"""Model persistence: each trained model is saved with joblib next to a JSON document of
versioned metadata (features, training window, cross-validation scores, library versions).

Layout: ``<directory>/<strategy id>/v0001.joblib`` and ``v0001.json``; a strategy id's ``/``
(ensemble members) becomes ``__`` in the folder name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import joblib
import sklearn

from ai_trading_core.errors import StorageError

METADATA_SCHEMA = 1
_VERSION = re.compile(r"^v(\d{4,})\.json$")


class ModelStore:
    """Saves and loads versioned models under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _folder(self, strategy_id: str) -> Path:
        return self.directory / strategy_id.replace("/", "__")

    def versions(self, strategy_id: str) -> list[int]:
        folder = self._folder(strategy_id)
        if not folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in folder.iterdir() if (m := _VERSION.match(p.name)))

    def save(self, strategy_id: str, model: Any, metadata: dict[str, Any]) -> tuple[int, Path]:
        """Write the next version; return (version, path of the model file)."""
        folder = self._folder(strategy_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            version = (self.versions(strategy_id) or [0])[-1] + 1
            model_path = folder / f"v{version:04d}.joblib"
            doc = {
                "schema": METADATA_SCHEMA,
                "version": version,
                "strategy_id": strategy_id,
                "model_file": model_path.name,
                "sklearn_version": sklearn.__version__,
                "joblib_version": joblib.__version__,
                **metadata,
            }
            joblib.dump(model, model_path)
            # metadata last: a version exists once its JSON does
            (folder / f"v{version:04d}.json").write_text(json.dumps(doc, indent=2, sort_keys=True))
        except OSError as exc:
            raise StorageError(f"cannot save model of {strategy_id!r} under {folder}: {exc}") from exc
        return version, model_path

    def load(self, strategy_id: str, version: int | None = None) -> tuple[Any, dict[str, Any]]:
        """The model and metadata of ``version`` (default: the newest)."""
        versions = self.versions(strategy_id)
        if not versions:
            raise StorageError(f"no saved model for {strategy_id!r} under {self.directory}")
        version = versions[-1] if version is None else version
        if version not in versions:
            raise StorageError(f"model version {version} of {strategy_id!r} not found (have {versions})")
        folder = self._folder(strategy_id)
        meta: dict[str, Any] = json.loads((folder / f"v{version:04d}.json").read_text())
        return joblib.load(folder / meta["model_file"]), meta
