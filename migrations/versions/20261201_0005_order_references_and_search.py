"""order references (external_order_id, metadata), list and search indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The text the dashboard search matches: the five fields joined by a control character (U+001F)
# that search terms may not contain, so a match can never span two fields. One trigram index
# covers all five. dashboard/repository.py repeats this expression exactly, or PostgreSQL will
# not use the index.
SEARCH_DOCUMENT = (
    "(platform_order_id || E'\\x1f' || coalesce(external_order_id, '') || E'\\x1f' || product_title"
    " || E'\\x1f' || asin || E'\\x1f' || account_email)"
)


def upgrade() -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.add_column("orders", sa.Column("external_order_id", sa.String(length=100), nullable=True))
    op.add_column("orders", sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True))

    # Lists are always one account in one key mode; the id breaks ties so keyset pages are stable.
    op.drop_index("ix_orders_account_id_created_at", table_name="orders")
    op.create_index(
        "ix_orders_account_id_test_mode_created_at", "orders", ["account_id", "test_mode", "created_at", "id"]
    )
    op.create_index(
        "ix_orders_account_id_test_mode_updated_at", "orders", ["account_id", "test_mode", "updated_at", "id"]
    )
    op.create_index(
        "ix_orders_account_id_test_mode_status", "orders", ["account_id", "test_mode", "status", "created_at"]
    )
    op.create_index(
        "ix_orders_account_id_test_mode_external_order_id",
        "orders",
        ["account_id", "test_mode", "external_order_id"],
        postgresql_where=sa.text("external_order_id IS NOT NULL"),
    )
    op.execute(f"CREATE INDEX ix_orders_search_trgm ON orders USING gin ({SEARCH_DOCUMENT} gin_trgm_ops)")
    op.execute(
        "CREATE INDEX ix_orders_metadata ON orders USING gin (metadata jsonb_path_ops)"
        " WHERE metadata IS NOT NULL"
    )


def downgrade() -> None:
    # pg_trgm stays: other schemas of the database may use it.
    op.drop_index("ix_orders_metadata", table_name="orders")
    op.drop_index("ix_orders_search_trgm", table_name="orders")
    op.drop_index("ix_orders_account_id_test_mode_external_order_id", table_name="orders")
    op.drop_index("ix_orders_account_id_test_mode_status", table_name="orders")
    op.drop_index("ix_orders_account_id_test_mode_updated_at", table_name="orders")
    op.drop_index("ix_orders_account_id_test_mode_created_at", table_name="orders")
    op.create_index("ix_orders_account_id_created_at", "orders", ["account_id", "created_at"])
    op.drop_column("orders", "metadata")
    op.drop_column("orders", "external_order_id")
