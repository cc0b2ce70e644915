"""Webhooks: order events from the outbox to the client's URL and Discord, signed and retried."""
