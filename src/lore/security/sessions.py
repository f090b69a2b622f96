"""Web sessions: an opaque token in an HttpOnly cookie, and the CSRF token that every change made with it needs.

The CSRF token is an HMAC of the session token under the signing secret (the signed double-submit pattern): the
server keeps nothing more, a page of another origin can neither read nor compute it, and a cookie planted by a
sibling domain does not carry a matching one. It is given to the page twice: in the body of the login and in a
readable `lore_csrf` cookie; the page sends it back in the `X-CSRF-Token` header of each POST, PUT, PATCH or
DELETE. Requests with an `Authorization` header are not cookie-authenticated and need none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Literal

from starlette.responses import Response

from lore.errors import CsrfFailed

SESSION_COOKIE = "lore_session"
CSRF_COOKIE = "lore_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(secret: str, session_token: str) -> str:
    digest = hmac.new(secret.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def check_csrf(secret: str, session_token: str, method: str, header: str | None) -> None:
    """Refuse a state-changing request whose `X-CSRF-Token` is missing or not the session's."""
    if method.upper() in SAFE_METHODS:
        return
    if header is None:
        raise CsrfFailed(f"a change made with the session cookie needs the {CSRF_HEADER} header")
    if not hmac.compare_digest(header.encode(), csrf_token(secret, session_token).encode()):
        raise CsrfFailed(f"the {CSRF_HEADER} header does not match the session")


def set_session_cookies(
    response: Response,
    session_token: str,
    csrf: str,
    expires_at: datetime,
    *,
    secure: bool,
    same_site: Literal["lax", "strict"],
) -> None:
    """The session cookie (HttpOnly) and the CSRF cookie (readable by the page), both ending with the session;
    Secure when the request came over TLS."""
    for name, value, http_only in ((SESSION_COOKIE, session_token, True), (CSRF_COOKIE, csrf, False)):
        response.set_cookie(
            name, value, expires=expires_at, path="/", secure=secure, httponly=http_only, samesite=same_site
        )


def clear_session_cookies(response: Response, *, secure: bool, same_site: Literal["lax", "strict"]) -> None:
    for name, http_only in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", secure=secure, httponly=http_only, samesite=same_site)
