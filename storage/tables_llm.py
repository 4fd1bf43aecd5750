"""Tables of the LLM path (#14, migration 0007): one row per call to an outside model, with the
usage the provider reported and its price, so the per-conversation token budget and the store's
daily cost cap are read from the database (every worker sees the same totals)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base, utcnow


class ModelUsage(Base):
    """One model call: who it served, which model, the tokens the provider reported, the cost
    priced from the table (agent/llm_budget.py) and the UTC day the daily cap counts it on."""

    __tablename__ = "model_usage"
    __table_args__ = (Index("ix_model_usage_day", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(32), index=True)
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 6), default=Decimal(0))  # USD
    day: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(default=utcnow)
