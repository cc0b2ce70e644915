"""The address rules behind webhook targets, checked directly."""

import ipaddress

import pytest

from orderatlas.webhooks.targets import InvalidWebhookUrl, is_unsafe, split_host


@pytest.mark.parametrize(
    ("address", "unsafe"),
    [
        ("93.184.216.34", False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("100.64.0.1", True),
        ("169.254.169.254", True),
        ("224.0.0.1", True),
        ("::ffff:127.0.0.1", True),
        ("2002:7f00:1::", True),  # 6to4 wrapping 127.0.0.1
        ("2002:5db8:d822::", False),  # 6to4 wrapping 93.184.216.34
        ("64:ff9b::7f00:1", True),  # NAT64 to 127.0.0.1
        ("64:ff9b::5db8:d822", False),  # NAT64 to 93.184.216.34
        ("::7f00:1", True),  # IPv4-compatible 127.0.0.1
        ("::1", True),
        ("::", True),
        ("64:ff9b:1::a00:1", True),  # local-use NAT64
        ("::ffff:0:7f00:1", True),  # IPv4-translated
        ("fec0::1", True),  # site-local
        ("4000::1", True),  # reserved
        ("fd12:3456::1", True),
        ("fe80::1", True),
    ],
)
def test_non_global_addresses_are_unsafe(address: str, unsafe: bool) -> None:
    assert is_unsafe(ipaddress.ip_address(address)) is unsafe


@pytest.mark.parametrize("url", ["http://[::1", "http://host:99999/x", "https://", "mailto:a@b.c"])
def test_urls_that_do_not_parse_are_invalid_not_errors(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        split_host(url)


def test_ports_default_by_scheme() -> None:
    assert split_host("https://hooks.example.com/x") == ("hooks.example.com", 443)
    assert split_host("http://hooks.example.com:8080/x") == ("hooks.example.com", 8080)
