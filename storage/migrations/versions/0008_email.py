"""email channel: mailbox state, message threading

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 05:10:00

Owned by the email-channel issue (#15): its tables live in storage/tables_email.py. Empty until that work lands,
so the chain 0005 -> 0006 -> 0007 -> 0008 stays one head whatever lands first.
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
