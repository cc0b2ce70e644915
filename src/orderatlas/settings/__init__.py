"""Account settings: webhook targets and secret, tracking conversion, ship-from address."""
