"""test mode webhooks: the account's own test-mode webhook targets and secret; every webhook
event says which mode it belongs to (and its payload carries livemode)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 64 hex characters from PostgreSQL's strong random source (gen_random_uuid, PostgreSQL >= 13),
# like models.account.new_webhook_secret: each existing account gets a test secret of its own.
_NEW_SECRET = "encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'hex')"


def upgrade() -> None:
    op.add_column("accounts", sa.Column("test_webhook_url", sa.Text(), nullable=True))
    op.add_column("accounts", sa.Column("test_discord_webhook_url", sa.Text(), nullable=True))
    op.add_column("accounts", sa.Column("test_webhook_secret", sa.String(length=256), nullable=True))
    op.execute(f"UPDATE accounts SET test_webhook_secret = {_NEW_SECRET}")  # noqa: S608
    op.alter_column("accounts", "test_webhook_secret", nullable=False)

    # Events of test orders are test events; an event whose order is gone stays live, the side a
    # test key can never read.
    op.add_column(
        "webhook_events", sa.Column("livemode", sa.Boolean(), server_default=sa.true(), nullable=False)
    )
    op.execute(
        "UPDATE webhook_events e SET livemode = NOT o.test_mode FROM orders o WHERE o.id = e.order_id"
    )
    op.execute("UPDATE webhook_events SET payload = payload || jsonb_build_object('livemode', livemode)")
    op.create_index(
        "ix_webhook_events_account_id_livemode", "webhook_events", ["account_id", "livemode"]
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_events_account_id_livemode", table_name="webhook_events")
    op.execute("UPDATE webhook_events SET payload = payload - 'livemode'")
    op.drop_column("webhook_events", "livemode")
    op.drop_column("accounts", "test_webhook_secret")
    op.drop_column("accounts", "test_discord_webhook_url")
    op.drop_column("accounts", "test_webhook_url")
