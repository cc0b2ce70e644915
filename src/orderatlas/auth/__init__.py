"""Authentication: X-API-Key to the calling account."""
