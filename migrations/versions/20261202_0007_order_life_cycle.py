"""order life cycle: refresh schedule, kept session, imports, tracking fields, page copies

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nothing ever wrote these two (they were always NULL); they now hold storage keys, not URLs.
    op.alter_column('orders', 'invoice_link', new_column_name='invoice_copy')
    op.alter_column('orders', 'order_html_url', new_column_name='order_html_copy')
    op.add_column('orders', sa.Column('delivery_photo_url', sa.Text(), nullable=True))
    op.add_column('orders', sa.Column('est_delivery_min', sa.DateTime(timezone=True), nullable=True))
    op.add_column('orders', sa.Column('est_delivery_max', sa.DateTime(timezone=True), nullable=True))
    op.add_column('orders', sa.Column('imported', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('orders', sa.Column('next_refresh_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('orders', sa.Column('refresh_failures', sa.Integer(), server_default='0', nullable=False))
    op.add_column('orders', sa.Column('retailer_session', sa.Text(), nullable=True))
    # Orders already placed start being refreshed at once; the sweep takes them in bounded batches.
    op.execute(
        "UPDATE orders SET next_refresh_at = now() WHERE status IN "
        "('confirmed', 'purchased', 'warning', 'awaiting_approval', 'payment_revision', "
        "'shipped', 'out_for_delivery')"
    )
    op.create_index(
        'ix_orders_next_refresh_at', 'orders', ['next_refresh_at'], unique=False,
        postgresql_where=sa.text('next_refresh_at IS NOT NULL'),
    )
    op.create_index(
        'uq_orders_imported_platform_order_id', 'orders', ['account_id', 'test_mode', 'platform_order_id'],
        unique=True, postgresql_where=sa.text('imported'),
    )
    op.create_index(
        op.f('ix_sandbox_purchases_platform_order_id'), 'sandbox_purchases', ['platform_order_id'], unique=False
    )
    op.create_table('stored_copies',
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_stored_copies'))
    )
    op.create_index(op.f('ix_stored_copies_expires_at'), 'stored_copies', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_stored_copies_expires_at'), table_name='stored_copies')
    op.drop_table('stored_copies')
    op.drop_index(op.f('ix_sandbox_purchases_platform_order_id'), table_name='sandbox_purchases')
    op.drop_index('uq_orders_imported_platform_order_id', table_name='orders')
    op.drop_index('ix_orders_next_refresh_at', table_name='orders')
    for column in (
        'retailer_session', 'refresh_failures', 'next_refresh_at', 'imported',
        'est_delivery_max', 'est_delivery_min', 'delivery_photo_url',
    ):
        op.drop_column('orders', column)
    op.alter_column('orders', 'order_html_copy', new_column_name='order_html_url')
    op.alter_column('orders', 'invoice_copy', new_column_name='invoice_link')
