"""Where a webhook may point: a public HTTPS address, never a private network (an SSRF guard).

    >>> check_url("https://hooks.example.com/lore", allow_loopback=False)
    'https://hooks.example.com/lore'

Every address the host resolves to must be public (`lore.security.outbound`, the guard syncs use too); loopback is allowed, over http too, only when
`LORE_WEBHOOK_ALLOW_LOOPBACK` is on (development and tests). The check runs when an endpoint is saved and again
before each delivery, so a name that later resolves inward is refused then.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from lore.errors import InvalidInput
from lore.security.outbound import is_loopback, refusal, resolve

MAX_URL_CHARS = 2000


class WebhookUrlRefused(InvalidInput):
    code = "webhook_url_refused"


def _refused(url: str, reason: str) -> WebhookUrlRefused:
    return WebhookUrlRefused(f"webhook URL refused: {reason}", details={"url": url[:200], "reason": reason})


def check_url(url: str, *, allow_loopback: bool) -> str:
    """`url` if a delivery may go there, else `WebhookUrlRefused` saying why."""
    if len(url) > MAX_URL_CHARS:
        raise _refused(url, f"longer than {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _refused(url, "not a URL") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _refused(url, "an https:// URL with a host is needed")
    if parts.username is not None or parts.password is not None:
        raise _refused(url, "credentials in the URL are not allowed: the signature authenticates Lore")
    loopback = is_loopback(resolve(parts.hostname, port))
    if parts.scheme != "https" and not (loopback and allow_loopback):
        raise _refused(url, "http is allowed only to loopback with LORE_WEBHOOK_ALLOW_LOOPBACK on")
    reason = refusal(parts.hostname, port, allow_loopback=allow_loopback)
    if reason is not None:
        raise _refused(url, reason)
    return url
