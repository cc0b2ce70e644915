"""Idempotency-Key on POST routes, with Stripe's semantics."""
