"""Retailer adapters: the one seam between OrderAtlas and the outside retailer."""
