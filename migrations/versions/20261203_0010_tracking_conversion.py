"""tracking conversion: labels, the poller's schedule and dedup reason, key overrides, per-label charges

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONVERSION_TYPES = ("conversion_debit", "conversion_refund")
POLLED = (
    "aqualine_tracking IS NULL AND convert_tracking IS NOT FALSE AND status IN ("
    "'confirmed', 'purchased', 'warning', 'awaiting_approval', 'payment_revision', "
    "'shipped', 'out_for_delivery')"
)


def upgrade() -> None:
    op.create_table(
        "tracking_labels",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("carrier", sa.String(length=50), server_default="", nullable=False),
        sa.Column("ship_from", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("dropped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_refresh_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_tracking_labels_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_tracking_labels_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracking_labels")),
    )
    op.create_index(op.f("ix_tracking_labels_order_id"), "tracking_labels", ["order_id"], unique=False)
    op.create_index(
        "uq_tracking_labels_active_order",
        "tracking_labels",
        ["order_id"],
        unique=True,
        postgresql_where=sa.text("state = 'active'"),
    )
    op.create_index(
        "uq_tracking_labels_provider_number", "tracking_labels", ["provider", "number"], unique=True
    )
    op.create_index(
        "ix_tracking_labels_next_refresh_at",
        "tracking_labels",
        ["next_refresh_at"],
        unique=False,
        postgresql_where=sa.text("next_refresh_at IS NOT NULL"),
    )

    op.add_column(
        "orders",
        sa.Column(
            "dropped_aqualine_tracking",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column("orders", sa.Column("conversion_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("orders", sa.Column("aqualine_skip_reason", sa.String(length=64), nullable=True))
    op.add_column(
        "orders", sa.Column("conversion_attempts", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_index(
        "ix_orders_conversion_due_at",
        "orders",
        ["conversion_due_at"],
        unique=False,
        postgresql_where=sa.text(POLLED),
    )
    op.create_index(
        "ix_orders_converted_created_at",
        "orders",
        ["account_id", "test_mode", "created_at", "id"],
        unique=False,
        postgresql_where=sa.text("aqualine_tracking IS NOT NULL"),
    )
    op.add_column("api_keys", sa.Column("convert_tracking", sa.Boolean(), nullable=True))

    # A dropped label and the one minted after it are two conversions, each charged once: the
    # per-order uniqueness of 0006 becomes per order and label (reference holds the label number).
    # Rows written before this have reference '' and stay one per order.
    op.add_column(
        "credit_transactions",
        sa.Column("reference", sa.String(length=100), server_default="", nullable=False),
    )
    for type_ in CONVERSION_TYPES:
        op.drop_index(f"uq_credit_transactions_{type_}", table_name="credit_transactions")
        op.create_index(
            f"uq_credit_transactions_{type_}_per_label",
            "credit_transactions",
            ["order_id", "reference"],
            unique=True,
            postgresql_where=sa.text(f"type = '{type_}'"),
        )


def downgrade() -> None:
    for type_ in CONVERSION_TYPES:
        op.drop_index(f"uq_credit_transactions_{type_}_per_label", table_name="credit_transactions")
        # Fails if an order was charged for two labels: that history cannot fit the old rule.
        op.create_index(
            f"uq_credit_transactions_{type_}",
            "credit_transactions",
            ["order_id"],
            unique=True,
            postgresql_where=sa.text(f"type = '{type_}'"),
        )
    op.drop_column("credit_transactions", "reference")
    op.drop_column("api_keys", "convert_tracking")
    op.drop_index("ix_orders_converted_created_at", table_name="orders")
    op.drop_index("ix_orders_conversion_due_at", table_name="orders")
    for column in (
        "conversion_attempts",
        "aqualine_skip_reason",
        "conversion_due_at",
        "dropped_aqualine_tracking",
    ):
        op.drop_column("orders", column)
    op.drop_index("ix_tracking_labels_next_refresh_at", table_name="tracking_labels")
    op.drop_index("uq_tracking_labels_provider_number", table_name="tracking_labels")
    op.drop_index("uq_tracking_labels_active_order", table_name="tracking_labels")
    op.drop_index(op.f("ix_tracking_labels_order_id"), table_name="tracking_labels")
    op.drop_table("tracking_labels")
