"""TimescaleDB when the server can load it, native range partitioning when it cannot."""

from __future__ import annotations

from .chunks import ensure_chunk_interval
from .detect import (
    TIMESCALE_MODES,
    BarsLayout,
    BarsPlan,
    TimescaleMode,
    TimescaleSupport,
    bars_layout,
    detect_timescale,
    plan_bars,
    timescale_available,
    timescale_installed,
)
from .partitions import ensure_partitions, existing_partitions
from .sql import (
    ContinuousAggregate,
    TimescaleSettings,
    chunk_interval_for,
    continuous_aggregate_statements,
    create_bars_table,
    create_partition,
    drop_timescale_statements,
    hypertable_statements,
    licensed_statements,
    partition_name,
    timescale_statements,
)

__all__ = [
    "TIMESCALE_MODES",
    "BarsLayout",
    "BarsPlan",
    "ContinuousAggregate",
    "TimescaleMode",
    "TimescaleSettings",
    "TimescaleSupport",
    "bars_layout",
    "chunk_interval_for",
    "continuous_aggregate_statements",
    "create_bars_table",
    "create_partition",
    "detect_timescale",
    "drop_timescale_statements",
    "ensure_chunk_interval",
    "ensure_partitions",
    "existing_partitions",
    "hypertable_statements",
    "licensed_statements",
    "partition_name",
    "plan_bars",
    "timescale_available",
    "timescale_installed",
    "timescale_statements",
]
