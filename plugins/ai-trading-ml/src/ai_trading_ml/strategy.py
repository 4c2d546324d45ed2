"""``MLStrategy``: a scikit-learn pipeline retrained walk-forward, bar by bar.

At every bar the strategy builds one feature row per symbol (incremental indicators, so bars
after t are never touched) and keeps the rows of the trailing training window. Every
``retrain_every`` bars it fits a fresh pipeline on the samples whose labels are already known
(decided at least ``horizon`` bars ago), scores it by purged and embargoed k-fold
cross-validation, logs the retraining (and saves the model when ``model_dir`` is set), and
from then on maps ``predict_proba`` to targets:

    edge = 2 × P(up) − 1;  target = sign(edge) × clip((|edge| − min_edge) / (full_edge − min_edge), 0, 1)

The strategy has no ``signal_block``: retraining is sequential by nature and the per-bar path
is the only one.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
from ai_trading_technical.indicators import IncrementalIndicators
from sklearn.base import clone
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.pipeline import Pipeline

from ai_trading_core.enums import StrategyType, Timeframe
from ai_trading_core.market import FloatArray, History, MarketSlice, to_datetime

from .cv import PurgedKFold
from .features import FeatureBuilder
from .params import WalkForwardParams
from .store import ModelStore


class MLStrategy:
    """Base: subclasses provide :meth:`build_pipeline` (an unfitted sklearn Pipeline whose last
    step has ``predict_proba``) and a :class:`FeatureBuilder`."""

    strategy_type: StrategyType = StrategyType.MACHINE_LEARNING

    def __init__(
        self,
        strategy_id: str,
        params: WalkForwardParams,
        features: FeatureBuilder,
        store: ModelStore | None = None,
    ) -> None:
        self.strategy_id = strategy_id
        self.params = params
        self.features = features
        self.store = store
        # first training (and signal) on the bar where `min_train_bars` labelled feature rows exist
        self.warmup = features.lookback + params.horizon + params.min_train_bars - 1
        self.retraining_log: list[dict[str, Any]] = []
        self.model: Pipeline | None = None
        self.last_confidence: FloatArray = np.zeros(0)
        self.timeframe = Timeframe.D1
        self._reset(0)

    def build_pipeline(self) -> Pipeline:
        raise NotImplementedError(f"{type(self).__name__} must implement build_pipeline")

    def model_description(self) -> dict[str, Any]:
        """Extra metadata saved with each model (model kind and hyper-parameters)."""
        return {}

    # ----------------------------------------------------------------- Strategy protocol
    def prepare(self, symbols: tuple[str, ...], timeframe: Timeframe) -> None:
        self.timeframe = timeframe
        self._reset(len(symbols))

    def _reset(self, n_symbols: int) -> None:
        keep = self.params.train_window + self.params.horizon + 1
        self._ta = IncrementalIndicators(n_symbols, self.timeframe)
        self._rows: deque[FloatArray] = deque(maxlen=keep)
        self._closes: deque[FloatArray] = deque(maxlen=keep)
        self._stamps: deque[int] = deque(maxlen=keep)
        self._bar = -1
        self._feature_bars = 0  # bars on which at least one symbol had every feature
        self._last_train = -1
        self.model = None
        self.retraining_log = []
        self.last_confidence = np.full(n_symbols, np.nan)

    def on_slice(self, market: MarketSlice, history: History) -> FloatArray:
        n = len(market.symbols)
        if self._ta.n_symbols != n:
            self._reset(n)
        self._bar += 1
        self._ta.advance(market)
        x = self.features.build(self._ta)
        self._rows.append(x)
        if np.isfinite(x).all(axis=-1).any():
            self._feature_bars += 1
        self._closes.append(np.asarray(market.close, dtype=np.float64).copy())
        self._stamps.append(int(market.timestamp))
        if self._due():
            self._retrain()
        return self._predict(x)

    def run_extras(self) -> dict[str, Any]:
        """Strategy-provided content for the run document: every retraining point."""
        return {"retraining": list(self.retraining_log)}

    # ----------------------------------------------------------------- walk-forward
    def _due(self) -> bool:
        labelled = min(self._feature_bars, len(self._rows)) - self.params.horizon
        if labelled < self.params.min_train_bars:
            return False
        return self._last_train < 0 or self._bar - self._last_train >= self.params.retrain_every

    def _training_set(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(X, y, decision bar) of samples whose label is known now; only rows decided at
        least ``horizon`` bars ago."""
        h = self.params.horizon
        rows = np.stack(self._rows)  # (W, N, F)
        closes = np.stack(self._closes)  # (W, N)
        w = len(rows) - h
        first = max(0, w - self.params.train_window)
        x = rows[first:w]
        now, later = closes[first:w], closes[first + h : w + h]
        bars = np.broadcast_to(np.arange(first, w)[:, None], now.shape)
        ok = np.isfinite(x).all(axis=-1) & np.isfinite(now) & np.isfinite(later)
        y = (later > now).astype(np.int64)
        return x[ok], y[ok].astype(np.float64), bars[ok].astype(np.float64)

    def _retrain(self) -> None:
        x, y, bars = self._training_set()
        self._last_train = self._bar
        if len(np.unique(y)) < 2:
            return
        stamps = list(self._stamps)
        cv = self._cross_validate(x, y.astype(np.int64), bars.astype(np.int64))
        model = self.build_pipeline()
        model.fit(x, y.astype(np.int64))
        self.model = model
        entry: dict[str, Any] = {
            "timestamp": to_datetime(stamps[-1]).isoformat(),
            "bar": self._bar,
            "window": {
                "start": to_datetime(stamps[int(bars.min())]).isoformat(),
                "end": to_datetime(stamps[int(bars.max())]).isoformat(),
                "bars": int(bars.max() - bars.min()) + 1,
                "samples": len(y),
                "positive_fraction": float(y.mean()),
            },
            "cv": cv,
        }
        if self.store is not None:
            meta = {
                "features": self.features.names,
                "horizon": self.params.horizon,
                "trained_at": entry["timestamp"],
                "training_window": entry["window"],
                "cv": cv,
                **self.model_description(),
            }
            version, path = self.store.save(self.strategy_id, model, meta)
            entry["model_version"] = version
            entry["model_file"] = str(path)
        self.retraining_log.append(entry)

    def _cross_validate(self, x: FloatArray, y: np.ndarray, bars: np.ndarray) -> dict[str, Any]:
        p = self.params
        splitter = PurgedKFold(p.cv_splits, horizon=p.horizon, embargo=p.embargo)
        folds: list[dict[str, float]] = []
        for train, test in splitter.split(bars):
            if len(train) == 0 or len(test) == 0 or len(np.unique(y[train])) < 2:
                continue
            model = clone(self.build_pipeline()).fit(x[train], y[train])
            prob = model.predict_proba(x[test])[:, 1]
            fold = {
                "train_samples": float(len(train)),
                "test_samples": float(len(test)),
                "accuracy": float(accuracy_score(y[test], prob > 0.5)),
                "log_loss": float(log_loss(y[test], prob, labels=[0, 1])),
            }
            if len(np.unique(y[test])) == 2:
                fold["roc_auc"] = float(roc_auc_score(y[test], prob))
            folds.append(fold)
        summary: dict[str, Any] = {"splits": p.cv_splits, "embargo": p.embargo, "folds": folds}
        for key in ("accuracy", "log_loss", "roc_auc"):
            values = [f[key] for f in folds if key in f]
            summary[key] = float(np.mean(values)) if values else None
        return summary

    def _predict(self, x: FloatArray) -> FloatArray:
        n = x.shape[0]
        out = np.full(n, np.nan)
        self.last_confidence = np.full(n, np.nan)
        if self.model is None:
            return out
        ok = np.isfinite(x).all(axis=-1)
        if not ok.any():
            return out
        prob = self.model.predict_proba(x[ok])[:, 1]
        self.last_confidence[ok] = prob
        out[ok] = edge_to_target(2.0 * prob - 1.0, self.params.min_edge, self.params.full_edge)
        if self.params.long_only:
            out = np.where(out < 0, 0.0, out)
        return out


def edge_to_target(edge: FloatArray, min_edge: float, full_edge: float) -> FloatArray:
    """Map a prediction edge ``2p - 1`` in [-1, 1] to a target strength: 0 below ``min_edge``,
    ±1 from ``full_edge``, linear in between."""
    strength = np.clip((np.abs(edge) - min_edge) / (full_edge - min_edge), 0.0, 1.0)
    return np.sign(edge) * strength


def resolve_model_dir(model_dir: Path | None, state_dir: Path) -> Path | None:
    """``model_dir`` as given when absolute, under ``state_dir`` when relative."""
    if model_dir is None:
        return None
    return model_dir if model_dir.is_absolute() else Path(state_dir) / model_dir
