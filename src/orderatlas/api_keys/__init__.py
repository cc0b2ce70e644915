"""API keys: list, create (shown once), per-key webhook overrides, revoke."""
