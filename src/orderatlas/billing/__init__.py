"""Credits: the balance and its ledger."""
