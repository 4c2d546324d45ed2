"""TimescaleDB when the server has it, native range partitioning when it does not."""

from __future__ import annotations

from .detect import BarsLayout, bars_layout, timescale_available, timescale_installed
from .partitions import ensure_partitions, existing_partitions
from .sql import (
    ContinuousAggregate,
    TimescaleSettings,
    continuous_aggregate_statements,
    create_bars_table,
    create_partition,
    drop_timescale_statements,
    partition_name,
    timescale_statements,
)

__all__ = [
    "BarsLayout",
    "ContinuousAggregate",
    "TimescaleSettings",
    "bars_layout",
    "continuous_aggregate_statements",
    "create_bars_table",
    "create_partition",
    "drop_timescale_statements",
    "ensure_partitions",
    "existing_partitions",
    "partition_name",
    "timescale_available",
    "timescale_installed",
    "timescale_statements",
]
