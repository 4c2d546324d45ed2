"""Logging and auditing for scripts and notebooks: the original design's
``setup_institutional_logging`` and ``audit_logger.log_trade_decision``.

Both are thin layers over what runs use: loguru records carrying ``extra.correlation_id``
(:mod:`ai_trading_core.logs`), and the keyed, hash-chained JSON-lines audit trail
(:class:`ai_trading_core.audit.JsonlAuditSink`), so a notebook's decisions verify with
``ai-trading audit verify`` exactly like a run's.

    logger, audit_logger = setup_institutional_logging(log_level="INFO", enable_audit=True)
    with logger.contextualize(correlation_id="dec-42"):
        logger.info("signal accepted")               # JSON line with correlation_id dec-42
    audit_logger.log_trade_decision(correlation_id="dec-42", strategy_id="momentum", symbol="SPY",
                                    decision="BUY", reasoning="fast SMA above slow", position_size=0.05)
    audit_logger.close()                             # seals the chain
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

from .audit import SEAL_KIND, AuditKey, JsonlAuditSink, resolve_audit_key
from .clock import Clock, WallClock
from .errors import AuditError
from .models import AuditEvent

if TYPE_CHECKING:
    from loguru import Logger

_TEXT_FORMAT = "{time:YYYY-MM-DDTHH:mm:ss.SSSZ} <level>{level: <8}</level> [{extra[correlation_id]}] {message}"


def _plain(value: Any) -> Any:
    """A JSON-able copy of ``value``: Decimals as strings (exact), enums by value, timestamps
    ISO-8601, models and dataclasses as objects, NumPy scalars and arrays as numbers/lists,
    pandas objects through ``to_dict``."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if hasattr(value, "model_dump"):
        return _plain(value.model_dump(mode="json"))
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if hasattr(value, "tolist"):  # NumPy
        return _plain(value.tolist())
    if hasattr(value, "to_dict"):  # pandas
        return _plain(value.to_dict())
    return str(value)


class AuditLogger:
    """Appends decisions to an audit trail in the run format (hash-chained, keyed).

    :param path: the JSON-lines file; an existing unsealed trail of the same key is
        continued, a sealed one is refused (nothing may follow a seal).
    :param key: the chain's HMAC key; default :func:`~ai_trading_core.audit.resolve_audit_key`
        (the ``audit_hmac_key`` credential, else ``<state_dir>/audit-hmac.key``).
    :param run_id: the id events carry (one per notebook session by default).
    :param clock: where timestamps come from (the wall clock by default).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        key: AuditKey | None = None,
        run_id: str | None = None,
        state_dir: str | Path = ".ai-trading",
        credentials: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.path = Path(path)
        self.key = key if key is not None else resolve_audit_key(credentials or {}, Path(state_dir))
        self.run_id = run_id or uuid.uuid4().hex
        self.clock: Clock = clock if clock is not None else WallClock()
        self._sink: JsonlAuditSink | None = None
        self._sequence = 0

    def _open(self) -> JsonlAuditSink:
        if self._sink is None:
            last = _records(self.path)
            if last and last[0].get("kind") == SEAL_KIND:
                raise AuditError(f"{self.path}: the audit trail is sealed; write to a new file")
            sink = JsonlAuditSink(self.path, self.key)
            sink.open()
            self._sequence = int(last[0]["sequence"]) if last else 0
            self._sink = sink
        return self._sink

    def log(self, kind: str, payload: Mapping[str, Any], *, correlation_id: str = "-") -> AuditEvent:
        """Append one event; returns it (its place in the chain is ``sequence``)."""
        sink = self._open()
        self._sequence += 1
        event = AuditEvent(
            sequence=self._sequence,
            run_id=self.run_id,
            kind=kind,
            correlation_id=correlation_id,
            timestamp=self.clock.now(),
            payload=_plain(dict(payload)),
        )
        sink.ai_trading_audit_event(event=event)
        logger.bind(correlation_id=correlation_id).info("audit {} #{}", kind, event.sequence)
        return event

    def log_trade_decision(
        self,
        *,
        correlation_id: str,
        strategy_id: str,
        symbol: str,
        decision: str,
        reasoning: str | Mapping[str, Any] = "",
        market_data: Any = None,
        position_size: Decimal | float | str | None = None,
        risk_metrics: Any = None,
    ) -> AuditEvent:
        """Record a trade decision (kind ``trade_decision``).

        :param decision: e.g. ``"BUY"``, ``"SELL"``, ``"HOLD"``.
        :param position_size: fraction of equity (0.05 = 5 %); kept exact, as a decimal string.
        :param market_data: what the decision saw (a mapping, a model, a pandas object).
        :param risk_metrics: the risk figures behind it (mapping, model or dataclass).
        """
        size = None if position_size is None else str(Decimal(str(position_size)))
        return self.log(
            "trade_decision",
            {
                "strategy_id": strategy_id,
                "symbol": symbol,
                "decision": decision,
                "reasoning": reasoning,
                "market_data": market_data,
                "position_size": size,
                "risk_metrics": risk_metrics,
            },
            correlation_id=correlation_id,
        )

    def close(self) -> None:
        """Seal the chain (as a cleanly stopped run does) and close the file; logging again
        afterwards starts a new segment after the seal."""
        if self._sink is None:
            return
        if self._sequence:
            prev = _last_hash(self.path)
            self.log(SEAL_KIND, {"events": self._sequence, "last_hash": prev}, correlation_id="session")
        self._sink.close()
        self._sink = None

    def __enter__(self) -> AuditLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").strip().splitlines()
    try:
        return [json.loads(lines[-1])] if lines else []
    except json.JSONDecodeError as exc:
        raise AuditError(f"{path}: last record unreadable ({exc})") from None


def _last_hash(path: Path) -> str:
    last = _records(path)
    return str(last[0]["hash"]) if last else ""


def setup_institutional_logging(
    log_level: str = "INFO",
    enable_audit: bool = True,
    structured_format: bool = True,
    *,
    log_path: str | Path | None = None,
    audit_path: str | Path | None = None,
    run_id: str | None = None,
    output_dir: str | Path = "runs",
    state_dir: str | Path = ".ai-trading",
    credentials: Mapping[str, Any] | None = None,
    stream: TextIO | None = None,
) -> tuple[Logger, AuditLogger | None]:
    """Configure loguru for a script or notebook and open an audit trail.

    :param structured_format: one JSON object per record (loguru's ``serialize``), else text.
    :param log_path: write records here; default ``stream`` (stderr).
    :param audit_path: the audit trail; default ``<output_dir>/<run_id>/audit.jsonl``, as a run.
    :return: the logger (bound to ``run_id``; every record carries ``extra.correlation_id``,
        ``"-"`` outside ``logger.contextualize(correlation_id=...)``) and the
        :class:`AuditLogger`, or None when ``enable_audit`` is false.

    Replaces loguru's handlers (as ``ai-trading`` does at start-up); ``diagnose=False`` keeps
    local variables, which may hold secrets, out of tracebacks.
    """
    run_id = run_id or uuid.uuid4().hex
    logger.remove()
    logger.configure(extra={"correlation_id": "-", "run_id": run_id})
    target: Any = Path(log_path) if log_path is not None else (stream or sys.stderr)
    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
    if structured_format:
        logger.add(target, level=log_level.upper(), serialize=True, backtrace=False, diagnose=False)
    else:
        logger.add(target, level=log_level.upper(), format=_TEXT_FORMAT, backtrace=False, diagnose=False)
    audit = None
    if enable_audit:
        path = Path(audit_path) if audit_path is not None else Path(output_dir) / run_id / "audit.jsonl"
        audit = AuditLogger(path, run_id=run_id, state_dir=state_dir, credentials=credentials)
    return logger.bind(run_id=run_id), audit
