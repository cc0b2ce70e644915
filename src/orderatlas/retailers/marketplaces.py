"""The marketplaces OrderAtlas places orders on, with the currency and locale their prices render in."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Marketplace:
    platform: str
    domain: str
    currency: str
    locale: str
    aquiline: bool  # tracking conversion available


MARKETPLACES: dict[str, Marketplace] = {
    m.platform: m
    for m in (
        Marketplace("AmazonUS", "amazon.com", "USD", "en_US", True),
        Marketplace("AmazonUK", "amazon.co.uk", "GBP", "en_GB", True),
        Marketplace("AmazonCA", "amazon.ca", "CAD", "en_CA", True),
        Marketplace("AmazonMX", "amazon.com.mx", "MXN", "es_MX", False),
        Marketplace("AmazonDE", "amazon.de", "EUR", "de_DE", True),
        Marketplace("AmazonFR", "amazon.fr", "EUR", "fr_FR", True),
        Marketplace("AmazonIT", "amazon.it", "EUR", "it_IT", True),
        Marketplace("AmazonES", "amazon.es", "EUR", "es_ES", True),
        Marketplace("AmazonNL", "amazon.nl", "EUR", "nl_NL", False),
        Marketplace("AmazonBE", "amazon.com.be", "EUR", "fr_BE", False),
        Marketplace("AmazonPL", "amazon.pl", "PLN", "pl_PL", False),
        Marketplace("AmazonSE", "amazon.se", "SEK", "sv_SE", False),
        Marketplace("AmazonIE", "amazon.ie", "EUR", "en_IE", False),
        Marketplace("AmazonAU", "amazon.com.au", "AUD", "en_AU", False),
        Marketplace("AmazonIN", "amazon.in", "INR", "en_IN", True),
        Marketplace("AmazonSG", "amazon.sg", "SGD", "en_SG", False),
        Marketplace("AmazonJP", "amazon.co.jp", "JPY", "ja_JP", False),
        Marketplace("AmazonBR", "amazon.com.br", "BRL", "pt_BR", False),
        Marketplace("AmazonTR", "amazon.com.tr", "TRY", "tr_TR", False),
        Marketplace("AmazonEG", "amazon.eg", "EGP", "ar_EG", False),
        Marketplace("AmazonZA", "amazon.co.za", "ZAR", "en_ZA", False),
        Marketplace("AmazonSA", "amazon.sa", "SAR", "ar_SA", False),
        Marketplace("AmazonAE", "amazon.ae", "AED", "ar_AE", False),
    )
}
