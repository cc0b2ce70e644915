"""Money as the retailer renders it: locale-formatted strings with numeric mirrors."""

from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency

CENT = Decimal("0.01")


def format_money(amount: Decimal | None, currency: str, locale: str) -> str:
    """ "$14.85", "£14.85", "14,85 €" ...; "" when the amount is not known yet."""
    if amount is None:
        return ""
    return _formatted(amount, currency, locale)


# Babel parses the locale's patterns on every call; an order read formats five amounts, and
# prices repeat (the sandbox's, a catalogue's), so the strings are kept.
@lru_cache(maxsize=8192)
def _formatted(amount: Decimal, currency: str, locale: str) -> str:
    return format_currency(amount, currency, locale=locale, numbering_system="latn")


def money_number(amount: Decimal | None) -> float | int:
    """The JSON number mirror of a money string: 0 when unknown."""
    if amount is None or amount == 0:
        return 0
    return float(amount)
