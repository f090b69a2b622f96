"""Signed tokens (HS256 JWTs under the signing secret) and opaque ones (random, stored as a hash).

Each signed purpose has an audience of its own, so a token made for one is refused by the others: access tokens
carry `aud` = the issuer (`lore`), MFA challenges `lore:mfa`, single sign-on state `lore:oidc`.

    >>> signer = TokenSigner(secret, issuer="lore")
    >>> token = signer.access_token(AccessClaims("u1", "default", "viewer", "family"), ttl=900)
    >>> signer.access_claims(token).user_id
    'u1'
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt

from lore.errors import Unauthenticated
from lore.models import utcnow

Purpose = Literal["access", "mfa", "oidc"]
ALGORITHM = "HS256"
MIN_SECRET_CHARS = 32


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What an access token says: whose it is, in which tenant, and the login (refresh family) it belongs to,
    which logout revokes. The role is informational: each request reads the user's current one."""

    user_id: str
    tenant_id: str
    role: str
    session_id: str


class TokenSigner:
    def __init__(self, secret: str, issuer: str, clock: Callable[[], datetime] = utcnow) -> None:
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"the signing secret needs at least {MIN_SECRET_CHARS} characters")
        self._key = secret.encode()
        self.issuer = issuer
        self._clock = clock

    def _audience(self, purpose: Purpose) -> str:
        return self.issuer if purpose == "access" else f"{self.issuer}:{purpose}"

    def sign(self, purpose: Purpose, subject: str, ttl: float, claims: Mapping[str, Any]) -> str:
        now = self._clock()
        registered = {
            "iss": self.issuer,
            "aud": self._audience(purpose),
            "sub": subject,
            "iat": now,
            "exp": now + timedelta(seconds=ttl),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode({**claims, **registered}, self._key, algorithm=ALGORITHM)

    def verify(self, token: str, purpose: Purpose) -> dict[str, Any]:
        """The claims of a token signed here for `purpose` and not yet expired; Unauthenticated otherwise."""
        try:
            return jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self._audience(purpose),
                issuer=self.issuer,
                options={"require": ["iss", "aud", "sub", "iat", "exp", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated(f"the {purpose} token has expired", details={"reason": "expired"}) from None
        except jwt.InvalidTokenError:
            raise Unauthenticated(f"not a valid {purpose} token", details={"reason": "invalid"}) from None

    def access_token(self, claims: AccessClaims, ttl: float) -> str:
        extra = {"tenant": claims.tenant_id, "role": claims.role, "sid": claims.session_id}
        return self.sign("access", claims.user_id, ttl, extra)

    def access_claims(self, token: str) -> AccessClaims:
        found = self.verify(token, "access")
        try:
            return AccessClaims(found["sub"], str(found["tenant"]), str(found["role"]), str(found["sid"]))
        except KeyError:
            raise Unauthenticated("not a valid access token", details={"reason": "invalid"}) from None


def looks_signed(token: str) -> bool:
    """A compact JWT (three dot-separated parts, a JSON header): the tokens `TokenSigner` makes."""
    return token.startswith("eyJ") and token.count(".") == 2


def new_opaque_token() -> str:
    """256 random bits, URL-safe: refresh tokens and session cookies."""
    return secrets.token_urlsafe(32)


def opaque_hash(token: str) -> str:
    """How an opaque token is stored and looked up: its SHA-256 (the token is random, so no salt or slow hash
    is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()
