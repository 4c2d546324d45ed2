"""Instruments and their increments."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ai_trading_core.models import Instrument

from ..models import InstrumentRow
from ._sql import reading, transaction, upsert

_FIELDS = tuple(Instrument.model_fields)


class InstrumentRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upsert(self, instruments: Iterable[Instrument]) -> None:
        rows = [{**i.model_dump(), "asset_class": str(i.asset_class)} for i in instruments]
        with transaction(self.engine, "storing instruments") as conn:
            upsert(conn, InstrumentRow, rows, ["symbol"])

    def get(self, symbol: str) -> Instrument | None:
        with reading(self.engine, f"reading instrument {symbol}") as s:
            row = s.get(InstrumentRow, symbol)
            return None if row is None else Instrument.model_validate({f: getattr(row, f) for f in _FIELDS})

    def all(self) -> list[Instrument]:
        with reading(self.engine, "reading instruments") as s:
            rows = s.scalars(sa.select(InstrumentRow).order_by(InstrumentRow.symbol))
            return [Instrument.model_validate({f: getattr(r, f) for f in _FIELDS}) for r in rows]
