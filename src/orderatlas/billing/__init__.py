"""Billing: the live and test balances and their ledger, Stripe Checkout top-ups and Stripe's events."""
