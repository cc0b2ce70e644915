"""indexes for deletes and purges: the ledger by order, webhook events by age

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

DELETE /v1/order/:id sets credit_transactions.order_id to NULL through the foreign key; the
per-type partial unique indexes cannot serve that (it names no type), so PostgreSQL scanned the
whole ledger for every deleted order. The daily webhook purge selects events by created_at and
scanned every event. bench/explain.py shows both plans on a million rows.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_credit_transactions_order_id", "credit_transactions", ["order_id"])
    op.create_index("ix_webhook_events_created_at", "webhook_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_events_created_at", table_name="webhook_events")
    op.drop_index("ix_credit_transactions_order_id", table_name="credit_transactions")
