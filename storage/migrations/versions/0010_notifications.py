"""notifications: order events, notifications sent, opt-outs

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 08:30:00

Owned by the proactive-notifications issue (#17): its tables live in storage/tables_notify.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_number', sa.String(length=40), nullable=False),
    sa.Column('event', sa.String(length=30), nullable=False),
    sa.Column('news', sa.String(length=120), server_default='', nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('template', sa.String(length=60), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('email_hash', sa.String(length=64), nullable=True),
    sa.Column('conversation_id', sa.String(length=32), nullable=True),
    sa.Column('message_id', sa.String(length=300), nullable=True),
    sa.Column('offered_person', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_number', 'event', 'news', name='uq_notifications_order_event'),
    )
    op.create_index('ix_notifications_due', 'notifications', ['status', 'not_before'])
    op.create_index('ix_notifications_order', 'notifications', ['order_number', 'status'])
    op.create_table('notification_optouts',
    sa.Column('email_hash', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('email_hash'),
    )
    op.create_table('notification_order_state',
    sa.Column('order_number', sa.String(length=40), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_number'),
    )
    op.create_table('notification_sources',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('polled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name'),
    )
    op.create_table('shopify_webhooks',
    sa.Column('webhook_id', sa.String(length=100), nullable=False),
    sa.Column('topic', sa.String(length=60), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('webhook_id'),
    )


def downgrade() -> None:
    op.drop_table('shopify_webhooks')
    op.drop_table('notification_sources')
    op.drop_table('notification_order_state')
    op.drop_table('notification_optouts')
    op.drop_index('ix_notifications_order', table_name='notifications')
    op.drop_index('ix_notifications_due', table_name='notifications')
    op.drop_table('notifications')
