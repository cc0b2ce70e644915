"""Tracking conversion: carrier-neutral labels minted through a pluggable provider."""
