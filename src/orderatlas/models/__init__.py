"""SQLAlchemy tables, one module per aggregate. Importing this package registers them all."""

from orderatlas.models.account import Account, ApiKey
from orderatlas.models.base import Base
from orderatlas.models.conversion import TrackingLabel
from orderatlas.models.copy import StoredCopy
from orderatlas.models.credit import CreditTopup, CreditTransaction, StripeEvent, StripeHeldRefund
from orderatlas.models.idempotency import IdempotencyKey
from orderatlas.models.order import Order, OrderEvent, OrderItem
from orderatlas.models.sandbox import SandboxPurchase
from orderatlas.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEvent

__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "CreditTopup",
    "CreditTransaction",
    "IdempotencyKey",
    "Order",
    "OrderEvent",
    "OrderItem",
    "SandboxPurchase",
    "StoredCopy",
    "StripeEvent",
    "StripeHeldRefund",
    "TrackingLabel",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEvent",
]
