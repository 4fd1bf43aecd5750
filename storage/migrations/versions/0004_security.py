"""security: throttle hits, retention runs, staff alerts, engine state

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 02:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('throttle_hits',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('throttle_hits', schema=None) as batch_op:
        batch_op.create_index('ix_throttle_hits_key_at', ['key', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_throttle_hits_at'), ['at'], unique=False)

    op.create_table('retention_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cutoff', sa.DateTime(timezone=True), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('engine_state', sa.JSON(), nullable=True))

    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=False,
                                      server_default='conversation'))
        batch_op.alter_column('conversation_id', existing_type=sa.String(length=32),
                              nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.alter_column('conversation_id', existing_type=sa.String(length=32),
                              nullable=False)
        batch_op.drop_column('kind')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('engine_state')
    op.drop_table('retention_runs')
    with op.batch_alter_table('throttle_hits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_throttle_hits_at'))
        batch_op.drop_index('ix_throttle_hits_key_at')
    op.drop_table('throttle_hits')
