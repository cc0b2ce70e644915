"""Order statuses and failure_reason_code values, as the reference names them."""

PENDING = "pending"
PROCESSING = "processing"
CONFIRMED = "confirmed"
PURCHASED = "purchased"
WARNING = "warning"
AWAITING_APPROVAL = "awaiting_approval"
PAYMENT_REVISION = "payment_revision"
SHIPPED = "shipped"
OUT_FOR_DELIVERY = "out_for_delivery"
DELIVERED = "delivered"
CANCELLED = "cancelled"
LOST = "lost"
REFUNDED = "refunded"
FAILED = "failed"
PRICE_EXCEEDED = "PRICE_EXCEEDED"

# The statuses a checkout moves through before it ends.
IN_FLIGHT_STATUSES = frozenset({PENDING, PROCESSING})
# The retailer accepted the order; ON_HOLD ones wait for something before they count as confirmed.
ON_HOLD_STATUSES = frozenset({WARNING, AWAITING_APPROVAL, PAYMENT_REVISION})
PLACED_STATUSES = frozenset({CONFIRMED, PURCHASED}) | ON_HOLD_STATUSES
SHIPPING_STATUSES = frozenset({SHIPPED, OUT_FOR_DELIVERY})
# Nothing moves an order out of these (orders/lifecycle.py has the whole machine).
FINAL_STATUSES = frozenset({FAILED, PRICE_EXCEEDED, CANCELLED, LOST, REFUNDED})
# What the dashboard counts as active_tracking: on its way, not yet delivered.
ACTIVE_TRACKING_STATUSES = SHIPPING_STATUSES
# Every status an order can have (the reference's list, and ours): what list filters accept.
ALL_STATUSES = (
    PENDING,
    PROCESSING,
    CONFIRMED,
    PURCHASED,
    SHIPPED,
    OUT_FOR_DELIVERY,
    DELIVERED,
    CANCELLED,
    LOST,
    FAILED,
    PRICE_EXCEEDED,
    REFUNDED,
    PAYMENT_REVISION,
    AWAITING_APPROVAL,
    WARNING,
)

FAILURE_CODES = frozenset(
    {
        "SHIPPING_RESTRICTED",
        "PRICE_EXCEEDED",
        "ACCOUNT_SOFTBLOCK",
        "DIGITAL_PRODUCT_UNSUPPORTED",
        "ASIN_SWAPPED",
        "LOGIN_FAILED",
        "CHECKOUT_RPC_ERROR",
        "STALE_PLATFORM_ORDER_ID",
        "GATEWAY_RESTART_INTERRUPTED",
        "SESSION_FLAGGED_AT_PLACE",
        "SESSION_FLAGGED_NO_CSRF",
        "OOS_AFTER_RETRIES",
        "ATC_OOS_AFTER_RETRIES",
        "BOT_CHALLENGE_RX_SHELL",
        "ADDRESS_RATE_LIMITED",
        "CHECKOUT_BLOCKED",
        "ADDRESS_VALIDATION_FAILED",
        "PAYMENT_METHOD_BINDING_FAILED",
        "ORDER_NOT_PLACED",
    }
)

# Session-level flags: one retry on a forced-fresh login, then ACCOUNT_SOFTBLOCK.
FRESH_SESSION_RETRY_CODES = frozenset(
    {
        "SESSION_FLAGGED_AT_PLACE",
        "SESSION_FLAGGED_NO_CSRF",
        "OOS_AFTER_RETRIES",
        "ATC_OOS_AFTER_RETRIES",
        "BOT_CHALLENGE_RX_SHELL",
    }
)
SOFTBLOCK = "ACCOUNT_SOFTBLOCK"
SHIPPING_RESTRICTED = "SHIPPING_RESTRICTED"
ROTATION_OFFERS = 3

# Line outcomes on order_items.
LINE_PLACED = "placed"
LINE_NO_OFFER = "no_offer"
LINE_ASIN_SWAPPED = "asin_swapped"
LINE_PRICE_EXCEEDED = "price_exceeded"
LINE_DROPPED_POST_ATC = "dropped_post_atc"
