"""Copies of retailer pages (invoices, order pages), kept and served by this service at signed links."""
