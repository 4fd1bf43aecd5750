"""email channel: mailbox state, message threading

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 05:10:00

Owned by the email-channel issue (#15): its tables live in storage/tables_email.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('email_mailboxes',
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name'),
    )
    op.create_table('email_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.String(length=300), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=True),
    sa.Column('address', sa.String(length=320), nullable=True),
    sa.Column('sender_hash', sa.String(length=64), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('action', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=60), nullable=False),
    sa.Column('auto', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id'),
    )
    op.create_index('ix_email_messages_conversation_at', 'email_messages',
                    ['conversation_id', 'created_at'], unique=False)
    op.create_index('ix_email_messages_sender_at', 'email_messages',
                    ['sender_hash', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_email_messages_sender_at', table_name='email_messages')
    op.drop_index('ix_email_messages_conversation_at', table_name='email_messages')
    op.drop_table('email_messages')
    op.drop_table('email_mailboxes')
