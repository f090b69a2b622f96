"""The SSRF guard on its own: loopback only when allowed, public HTTPS otherwise."""

from __future__ import annotations

import pytest

from lore.webhooks import WebhookUrlRefused, check_url


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "https://localhost/hook", "http://[::1]/hook"])
def test_loopback_is_refused_unless_allowed(url: str) -> None:
    with pytest.raises(WebhookUrlRefused):
        check_url(url, allow_loopback=False)
    assert check_url(url, allow_loopback=True) == url


@pytest.mark.parametrize(
    "url", ["https://[::ffff:10.0.0.1]/hook", "https://100.64.0.1/hook", "https://224.0.0.1/hook"]
)
def test_mapped_shared_and_multicast_addresses_are_refused(url: str) -> None:
    with pytest.raises(WebhookUrlRefused):
        check_url(url, allow_loopback=True)


def test_a_public_https_address_is_allowed() -> None:
    assert check_url("https://1.1.1.1/hook", allow_loopback=False) == "https://1.1.1.1/hook"
