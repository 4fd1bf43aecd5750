"""LLM path: model usage and cost

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 05:10:00

Owned by the LLM-path issue (#14): its tables live in storage/tables_llm.py. The chain 0005 -> 0006 -> 0007 -> 0008 stays one head whatever lands first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('model_usage',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('conversation_id', sa.String(length=32), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('prompt_tokens', sa.Integer(), nullable=False),
    sa.Column('completion_tokens', sa.Integer(), nullable=False),
    sa.Column('cost', sa.Numeric(precision=14, scale=6), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('model_usage', schema=None) as batch_op:
        batch_op.create_index('ix_model_usage_day', ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_usage_conversation_id'), ['conversation_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('model_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_usage_conversation_id'))
        batch_op.drop_index('ix_model_usage_day')
    op.drop_table('model_usage')
