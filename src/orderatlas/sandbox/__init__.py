"""The sandbox retailer's order history, as the retailer would show it (test keys only)."""
