"""LLM path: model usage and cost

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 05:10:00

Owned by the LLM-path issue (#14): its tables live in storage/tables_llm.py. Empty until that work lands,
so the chain 0005 -> 0006 -> 0007 -> 0008 stays one head whatever lands first.
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
