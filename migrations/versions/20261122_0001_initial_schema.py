"""accounts, api keys, ledger, orders, sandbox purchases

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("credit_balance", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("credit_balance >= 0", name=op.f("ck_accounts_credit_balance_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_index("uq_accounts_email_lower", "accounts", [sa.literal_column("lower(email)")], unique=True)
    op.create_table(
        "sandbox_purchases",
        sa.Column("account_email", sa.String(length=320), nullable=False),
        sa.Column("order_reference", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("platform_order_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("subtotal", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandbox_purchases")),
    )
    op.create_index(
        op.f("ix_sandbox_purchases_account_email"), "sandbox_purchases", ["account_email"], unique=False
    )
    op.create_index(
        op.f("ix_sandbox_purchases_order_reference"), "sandbox_purchases", ["order_reference"], unique=False
    )
    op.create_table(
        "api_keys",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_api_keys_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_account_id"), "api_keys", ["account_id"], unique=False)
    op.create_table(
        "orders",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("retailer", sa.String(length=50), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("platform_order_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("multi_item", sa.Boolean(), nullable=False),
        sa.Column("asin", sa.String(length=10), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price_max", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("product_title", sa.Text(), server_default="", nullable=False),
        sa.Column("account_email", sa.String(length=320), nullable=False),
        sa.Column("shipping_address", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("ship_from", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("convert_tracking", sa.Boolean(), nullable=True),
        sa.Column("auto_subscribe_save", sa.Boolean(), nullable=False),
        sa.Column("subscription_canceled", sa.Boolean(), nullable=False),
        sa.Column("gift", sa.Boolean(), nullable=False),
        sa.Column("gifter_name", sa.String(length=200), nullable=True),
        sa.Column("gift_message", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("shipping", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("credit", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("tax", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("logged_in", sa.Boolean(), nullable=False),
        sa.Column("failure_reason_code", sa.String(length=64), server_default="", nullable=False),
        sa.Column("notes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("credits_charged", sa.Integer(), nullable=False),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("carrier", sa.String(length=50), nullable=True),
        sa.Column("aqualine_tracking", sa.String(length=100), nullable=True),
        sa.Column("invoice_link", sa.Text(), nullable=True),
        sa.Column("invoice_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_html_url", sa.Text(), nullable=True),
        sa.Column("order_html_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("processing_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkout_attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_orders_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_orders_api_key_id_api_keys"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index("ix_orders_account_id_created_at", "orders", ["account_id", "created_at"], unique=False)
    op.create_index(
        "ix_orders_account_id_platform_order_id", "orders", ["account_id", "platform_order_id"], unique=False
    )
    op.create_index(
        "ix_orders_status_processing_started_at", "orders", ["status", "processing_started_at"], unique=False
    )
    op.create_table(
        "credit_transactions",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credit_transactions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_credit_transactions_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_transactions")),
    )
    op.create_index(
        op.f("ix_credit_transactions_account_id"), "credit_transactions", ["account_id"], unique=False
    )
    op.create_index(
        "uq_credit_transactions_order_debit",
        "credit_transactions",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("type = 'order_debit'"),
    )
    op.create_index(
        "uq_credit_transactions_order_refund",
        "credit_transactions",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("type = 'order_refund'"),
    )
    op.create_table(
        "order_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("previous_status", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_events_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index(op.f("ix_order_events_order_id"), "order_events", ["order_id"], unique=False)
    op.create_table(
        "order_items",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("asin", sa.String(length=10), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price_max", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("seller", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=32), server_default="", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_items_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
    )
    op.create_index(op.f("ix_order_items_order_id"), "order_items", ["order_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_order_items_order_id"), table_name="order_items")
    op.drop_table("order_items")
    op.drop_index(op.f("ix_order_events_order_id"), table_name="order_events")
    op.drop_table("order_events")
    op.drop_index(
        "uq_credit_transactions_order_refund",
        table_name="credit_transactions",
        postgresql_where=sa.text("type = 'order_refund'"),
    )
    op.drop_index(
        "uq_credit_transactions_order_debit",
        table_name="credit_transactions",
        postgresql_where=sa.text("type = 'order_debit'"),
    )
    op.drop_index(op.f("ix_credit_transactions_account_id"), table_name="credit_transactions")
    op.drop_table("credit_transactions")
    op.drop_index("ix_orders_status_processing_started_at", table_name="orders")
    op.drop_index("ix_orders_account_id_platform_order_id", table_name="orders")
    op.drop_index("ix_orders_account_id_created_at", table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_api_keys_account_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_sandbox_purchases_order_reference"), table_name="sandbox_purchases")
    op.drop_index(op.f("ix_sandbox_purchases_account_email"), table_name="sandbox_purchases")
    op.drop_table("sandbox_purchases")
    op.drop_index("uq_accounts_email_lower", table_name="accounts")
    op.drop_table("accounts")
