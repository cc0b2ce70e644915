"""billing review: one conversion debit, conversion refund and import debit per order; refunds
held until their payment is credited; starting credits written before 0004 relabelled adjustment

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written by jobs that may run twice (conversions) or by imports: the database says no twice.
# IF NOT EXISTS: the order-import work adds the same import_debit index in a revision of its own.
PER_ORDER_TYPES = ("conversion_debit", "conversion_refund", "import_debit")


def upgrade() -> None:
    for type_ in PER_ORDER_TYPES:
        op.create_index(
            f"uq_credit_transactions_{type_}",
            "credit_transactions",
            ["order_id"],
            unique=True,
            postgresql_where=sa.text(f"type = '{type_}'"),
            if_not_exists=True,
        )

    op.create_table(
        "stripe_held_refunds",
        sa.Column("payment_intent_id", sa.String(length=255), nullable=False),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("payment_intent_id", name=op.f("pk_stripe_held_refunds")),
    )
    op.create_index(
        op.f("ix_stripe_held_refunds_received_at"), "stripe_held_refunds", ["received_at"], unique=False
    )

    # Before 0004 the CLI wrote starting credits as `deposit`; since then a deposit is a paid
    # top-up and always carries its top-up id. A relabel only: no amount or balance changes.
    op.execute(
        "UPDATE credit_transactions SET type = 'adjustment' WHERE type = 'deposit' AND topup_id IS NULL"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE credit_transactions SET type = 'deposit' "
        "WHERE type = 'adjustment' AND NOT test_mode AND description LIKE 'Initial grant of %'"
    )
    op.drop_index(op.f("ix_stripe_held_refunds_received_at"), table_name="stripe_held_refunds")
    op.drop_table("stripe_held_refunds")
    for type_ in PER_ORDER_TYPES:
        op.drop_index(f"uq_credit_transactions_{type_}", table_name="credit_transactions", if_exists=True)
