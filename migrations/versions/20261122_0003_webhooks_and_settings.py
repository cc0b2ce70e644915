"""webhook outbox, account settings, api key overrides

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_events',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_webhook_events_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events'))
    )
    op.create_index(op.f('ix_webhook_events_account_id'), 'webhook_events', ['account_id'], unique=False)
    op.create_index(op.f('ix_webhook_events_order_id'), 'webhook_events', ['order_id'], unique=False)
    op.create_table('webhook_deliveries',
    sa.Column('event_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('cycle_attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_webhook_deliveries_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['webhook_events.id'], name=op.f('fk_webhook_deliveries_event_id_webhook_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    op.create_index('ix_webhook_deliveries_account_id_created_at', 'webhook_deliveries', ['account_id', 'created_at'], unique=False)
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['next_attempt_at'], unique=False, postgresql_where=sa.text("state = 'pending'"))
    op.create_index(op.f('ix_webhook_deliveries_event_id'), 'webhook_deliveries', ['event_id'], unique=False)
    op.create_table('webhook_attempts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('delivery_id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('response_status', sa.SmallInteger(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    op.create_index(op.f('ix_webhook_attempts_delivery_id'), 'webhook_attempts', ['delivery_id'], unique=False)
    op.add_column('accounts', sa.Column('rate_limit', sa.Integer(), server_default='60', nullable=False))
    op.add_column('accounts', sa.Column('webhook_url', sa.Text(), nullable=True))
    op.add_column('accounts', sa.Column('discord_webhook_url', sa.Text(), nullable=True))
    # Existing accounts get their own random secret, generated here rather than by a SQL default.
    op.add_column('accounts', sa.Column('webhook_secret', sa.String(length=256), nullable=True))
    bind = op.get_bind()
    for (account_id,) in bind.execute(sa.text('SELECT id FROM accounts')).fetchall():
        bind.execute(
            sa.text('UPDATE accounts SET webhook_secret = :secret WHERE id = :id'),
            {'secret': secrets.token_hex(32), 'id': account_id},
        )
    op.alter_column('accounts', 'webhook_secret', nullable=False)
    op.add_column('accounts', sa.Column('convert_tracking', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('accounts', sa.Column('ship_from_name', sa.String(length=200), nullable=True))
    op.add_column('accounts', sa.Column('ship_from_line1', sa.String(length=200), nullable=True))
    op.add_column('accounts', sa.Column('ship_from_city', sa.String(length=100), nullable=True))
    op.add_column('accounts', sa.Column('ship_from_state', sa.String(length=100), nullable=True))
    op.add_column('accounts', sa.Column('ship_from_zip', sa.String(length=20), nullable=True))
    op.add_column('accounts', sa.Column('ship_from_phone', sa.String(length=40), nullable=True))
    op.add_column('api_keys', sa.Column('webhook_url', sa.Text(), nullable=True))
    op.add_column('api_keys', sa.Column('discord_webhook_url', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('api_keys', 'discord_webhook_url')
    op.drop_column('api_keys', 'webhook_url')
    op.drop_column('accounts', 'ship_from_phone')
    op.drop_column('accounts', 'ship_from_zip')
    op.drop_column('accounts', 'ship_from_state')
    op.drop_column('accounts', 'ship_from_city')
    op.drop_column('accounts', 'ship_from_line1')
    op.drop_column('accounts', 'ship_from_name')
    op.drop_column('accounts', 'convert_tracking')
    op.drop_column('accounts', 'webhook_secret')
    op.drop_column('accounts', 'discord_webhook_url')
    op.drop_column('accounts', 'webhook_url')
    op.drop_column('accounts', 'rate_limit')
    op.drop_index(op.f('ix_webhook_attempts_delivery_id'), table_name='webhook_attempts')
    op.drop_table('webhook_attempts')
    op.drop_index(op.f('ix_webhook_deliveries_event_id'), table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_due', table_name='webhook_deliveries', postgresql_where=sa.text("state = 'pending'"))
    op.drop_index('ix_webhook_deliveries_account_id_created_at', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_index(op.f('ix_webhook_events_order_id'), table_name='webhook_events')
    op.drop_index(op.f('ix_webhook_events_account_id'), table_name='webhook_events')
    op.drop_table('webhook_events')
