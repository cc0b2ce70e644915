"""Retailer sessions: whether a browser session's cookies are still logged in."""
