"""console: staff accounts, sessions, saved replies, internal notes

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 08:30:00

Owned by the staff-console issue (#16): its tables live in storage/tables_console.py.
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
