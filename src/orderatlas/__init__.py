"""OrderAtlas: a self-hostable order-placement API."""
