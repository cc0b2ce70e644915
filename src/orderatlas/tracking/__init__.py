"""After checkout, what a client does to follow an order: push tracking, mark it delivered or
cancelled, ask the retailer for its status, import one placed by hand (/v1/order/...)."""
