"""Orders: placement, checkout and reading them back."""
