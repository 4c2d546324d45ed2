"""Parameters of the ``files`` data source."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ai_trading_core.enums import AssetClass, Timeframe

OhlcvField = Literal["open", "high", "low", "close", "volume"]


class FilesParams(BaseModel):
    """Where the files are and how to read them."""

    model_config = ConfigDict(extra="forbid")

    path: Path = Field(
        description=(
            "a CSV/Parquet file, or a directory with one file per symbol named <SYMBOL>.csv, "
            "<SYMBOL>.csv.gz or <SYMBOL>.parquet; relative paths are taken from the config file's folder"
        )
    )
    symbols: list[str] | None = Field(default=None, min_length=1, description="load only these symbols")
    timeframe: str = Field(default="1d", description="bar length of the files, 1m .. 1d")
    timestamp_column: str = Field(default="timestamp", description="name of the bar open-time column")
    timestamp_format: str | None = Field(
        default=None,
        description="strptime format of the timestamps (default: ISO 8601, e.g. 2020-01-02T14:30:00Z)",
    )
    columns: dict[OhlcvField, str] = Field(
        default_factory=dict,
        description="file column per field when it is not simply named open/high/low/close/volume",
    )
    symbol_column: str = Field(
        default="symbol", description="in a single file, the column naming each row's symbol (long format)"
    )
    assume_timezone: str | None = Field(
        default=None,
        description=(
            "IANA zone (e.g. UTC, America/New_York) for timestamps written without an offset; "
            "by default such timestamps are an error"
        ),
    )
    align: Literal["union", "intersection"] = Field(
        default="union",
        description="all timestamps with NaN where a symbol lacks a bar (union), or only common ones",
    )
    asset_class: AssetClass = Field(default=AssetClass.EQUITY, description="asset class of every symbol")
    tick_size: Decimal | None = Field(
        default=None,
        gt=0,
        description="price increment (currency); unset: taken from the data (the simulated broker uses the "
        "decimals each bar's prices carry, at least cents)",
    )
    lot_size: Decimal = Field(default=Decimal("1"), gt=0, description="quantity increment (units)")

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        return Timeframe.parse(value).value

    @field_validator("assume_timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as UTC)") from None
        return value
