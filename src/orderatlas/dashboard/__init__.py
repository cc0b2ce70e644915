"""The dashboard: the account at a glance, and its orders, searchable."""
