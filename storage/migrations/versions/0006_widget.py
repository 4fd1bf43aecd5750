"""widget: outcome events (CSAT and other outcomes), attachments

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 05:10:00

Owned by the widget issue (#13): its tables live in storage/tables_widget.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outcome_events',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_outcome_events_kind_created_at', 'outcome_events', ['kind', 'created_at'])
    op.create_index(
        op.f('ix_outcome_events_conversation_id'), 'outcome_events', ['conversation_id']
    )
    op.create_table('attachments',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_attachments_conversation_id'), 'attachments', ['conversation_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_attachments_conversation_id'), table_name='attachments')
    op.drop_table('attachments')
    op.drop_index(op.f('ix_outcome_events_conversation_id'), table_name='outcome_events')
    op.drop_index('ix_outcome_events_kind_created_at', table_name='outcome_events')
    op.drop_table('outcome_events')
