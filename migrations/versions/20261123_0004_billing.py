"""billing: a test-mode balance, ledger rows with their mode and order, Stripe top-ups and events

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from orderatlas.config import settings

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "accounts", sa.Column("test_credit_balance", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("accounts", sa.Column("credits_owed", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "accounts", sa.Column("test_credits_owed", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_accounts_test_credit_balance_not_negative"), "accounts", "test_credit_balance >= 0"
    )
    op.create_check_constraint(
        op.f("ck_accounts_credits_owed_not_negative"),
        "accounts",
        "credits_owed >= 0 AND test_credits_owed >= 0",
    )

    op.create_table(
        "credit_topups",
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("credits", sa.Integer(), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("stripe_session_id", sa.String(length=255), nullable=False),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credits_reversed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_credit_topups_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_topups")),
        sa.UniqueConstraint("stripe_session_id", name=op.f("uq_credit_topups_stripe_session_id")),
    )
    op.create_index(op.f("ix_credit_topups_account_id"), "credit_topups", ["account_id"], unique=False)
    op.create_index(
        op.f("ix_credit_topups_stripe_payment_intent_id"),
        "credit_topups",
        ["stripe_payment_intent_id"],
        unique=False,
    )

    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("test_mode", sa.Boolean(), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.Column("outcome", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_index(op.f("ix_stripe_events_received_at"), "stripe_events", ["received_at"], unique=False)

    # Every row so far moved the live balance (test orders used to spend it too), so false is true.
    op.add_column(
        "credit_transactions", sa.Column("test_mode", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column(
        "credit_transactions", sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False)
    )
    op.add_column("credit_transactions", sa.Column("topup_id", sa.Uuid(), nullable=True))
    op.create_unique_constraint(op.f("uq_credit_transactions_seq"), "credit_transactions", ["seq"])
    op.create_foreign_key(
        op.f("fk_credit_transactions_topup_id_credit_topups"),
        "credit_transactions",
        "credit_topups",
        ["topup_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(
        "ix_credit_transactions_history",
        "credit_transactions",
        ["account_id", "test_mode", "seq"],
        unique=False,
    )
    op.create_index(
        "uq_credit_transactions_topup_deposit",
        "credit_transactions",
        ["topup_id"],
        unique=True,
        postgresql_where=sa.text("type = 'deposit'"),
    )

    # Accounts made before the split get the starting test balance a new account gets, as a
    # ledger row, so their sandbox keeps working and the test ledger sums to the test balance.
    grant = int(settings.test_credits)
    if grant:
        op.execute(
            sa.text(
                "INSERT INTO credit_transactions (id, account_id, test_mode, amount, type, description, created_at) "
                "SELECT gen_random_uuid(), id, true, :grant, 'adjustment', :description, now() FROM accounts"
            ).bindparams(grant=grant, description=f"Test-mode starting credits: {grant}")
        )
        op.execute(sa.text("UPDATE accounts SET test_credit_balance = :grant").bindparams(grant=grant))


def downgrade() -> None:
    op.drop_index(
        "uq_credit_transactions_topup_deposit",
        table_name="credit_transactions",
        postgresql_where=sa.text("type = 'deposit'"),
    )
    op.drop_index("ix_credit_transactions_history", table_name="credit_transactions")
    op.execute("DELETE FROM credit_transactions WHERE test_mode")
    op.drop_constraint(
        op.f("fk_credit_transactions_topup_id_credit_topups"), "credit_transactions", type_="foreignkey"
    )
    op.drop_constraint(op.f("uq_credit_transactions_seq"), "credit_transactions", type_="unique")
    op.drop_column("credit_transactions", "topup_id")
    op.drop_column("credit_transactions", "seq")
    op.drop_column("credit_transactions", "test_mode")
    op.drop_index(op.f("ix_stripe_events_received_at"), table_name="stripe_events")
    op.drop_table("stripe_events")
    op.drop_index(op.f("ix_credit_topups_stripe_payment_intent_id"), table_name="credit_topups")
    op.drop_index(op.f("ix_credit_topups_account_id"), table_name="credit_topups")
    op.drop_table("credit_topups")
    op.drop_constraint(op.f("ck_accounts_credits_owed_not_negative"), "accounts", type_="check")
    op.drop_constraint(op.f("ck_accounts_test_credit_balance_not_negative"), "accounts", type_="check")
    op.drop_column("accounts", "test_credits_owed")
    op.drop_column("accounts", "credits_owed")
    op.drop_column("accounts", "test_credit_balance")
