"""Accounts (who pays) and their API keys (how they authenticate; only hashes are stored)."""

import secrets
import uuid

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderatlas.models.base import Base, CreatedAt, UUIDPk


def mode_name(test_mode: bool) -> str:
    """What ApiKey.mode, ledger rows and Stripe metadata call a mode."""
    return "test" if test_mode else "live"


WEBHOOK_SETTINGS = ("webhook_url", "discord_webhook_url", "webhook_secret")


def new_webhook_secret() -> str:
    """64 hex characters: the HMAC-SHA256 key that signs outbound webhooks."""
    return secrets.token_hex(32)


class Account(UUIDPk, CreatedAt, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("credit_balance >= 0", name="credit_balance_not_negative"),
        CheckConstraint("test_credit_balance >= 0", name="test_credit_balance_not_negative"),
        CheckConstraint("credits_owed >= 0 AND test_credits_owed >= 0", name="credits_owed_not_negative"),
        Index("uq_accounts_email_lower", func.lower(text("email")), unique=True),
    )

    email: Mapped[str] = mapped_column(String(320), nullable=False)
    # Live and test mode are two separate balances; each moves only with a ledger row of its mode.
    credit_balance: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
    test_credit_balance: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
    # Credits of refunded top-ups that the balance could not cover: taken from the next deposit.
    credits_owed: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
    test_credits_owed: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")
    rate_limit: Mapped[int] = mapped_column(nullable=False, default=60, server_default="60")

    # Where order events go, unless the order or the API key says otherwise: live events to the
    # first three, test events to the test_ ones. Test keys live on development boxes and CI, so
    # test mode has its own secret: a test key can never sign (forge) a live event.
    webhook_url: Mapped[str | None] = mapped_column(Text)
    discord_webhook_url: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str] = mapped_column(String(256), nullable=False, default=new_webhook_secret)
    test_webhook_url: Mapped[str | None] = mapped_column(Text)
    test_discord_webhook_url: Mapped[str | None] = mapped_column(Text)
    test_webhook_secret: Mapped[str] = mapped_column(String(256), nullable=False, default=new_webhook_secret)
    convert_tracking: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default="false"
    )
    ship_from_name: Mapped[str | None] = mapped_column(String(200))
    ship_from_line1: Mapped[str | None] = mapped_column(String(200))
    ship_from_city: Mapped[str | None] = mapped_column(String(100))
    ship_from_state: Mapped[str | None] = mapped_column(String(100))
    ship_from_zip: Mapped[str | None] = mapped_column(String(20))
    ship_from_phone: Mapped[str | None] = mapped_column(String(40))

    api_keys: Mapped[list["ApiKey"]] = relationship(back_populates="account", lazy="raise")

    @staticmethod
    def webhook_column(name: str, test_mode: bool) -> str:
        """The column a mode keeps webhook_url, discord_webhook_url or webhook_secret in."""
        assert name in WEBHOOK_SETTINGS
        return f"test_{name}" if test_mode else name


class ApiKey(UUIDPk, CreatedAt, Base):
    __tablename__ = "api_keys"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True, nullable=False
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    key_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    mode: Mapped[str] = mapped_column(String(4), nullable=False)  # "live" | "test"
    name: Mapped[str] = mapped_column(String(100), nullable=False, default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, server_default="true")
    # Per-key overrides of the account's webhook targets.
    webhook_url: Mapped[str | None] = mapped_column(Text)
    discord_webhook_url: Mapped[str | None] = mapped_column(Text)
    # Overrides the account's convert_tracking for orders this key places; None: the account's.
    convert_tracking: Mapped[bool | None] = mapped_column(Boolean)

    account: Mapped[Account] = relationship(back_populates="api_keys", lazy="raise")

    @property
    def is_test(self) -> bool:
        return self.mode == "test"
