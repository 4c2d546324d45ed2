"""Structured logging through loguru. Every record carries ``extra.correlation_id`` ("-"
outside a decision). The CLI writes human-readable warnings to stderr and, per run, every
record as one JSON object per line to ``<output_dir>/<run_id>/log.jsonl``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from loguru import logger

_FORMAT = "<level>{level: <8}</level> {message}"


def configure_logging(level: str = "WARNING") -> None:
    logger.remove()
    logger.configure(extra={"correlation_id": "-"})
    logger.add(sys.stderr, level=level.upper(), format=_FORMAT, backtrace=False, diagnose=False)


def add_json_log(path: Path, level: str = "INFO") -> int:
    """Add a JSON-lines sink; returns its handler id (remove with ``logger.remove``).
    ``diagnose=False`` keeps local variables (which may hold secrets) out of tracebacks. The
    file is created with mode 0600, like every run output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))  # loguru then appends to it
    return logger.add(path, level=level.upper(), serialize=True, backtrace=False, diagnose=False, enqueue=False)
