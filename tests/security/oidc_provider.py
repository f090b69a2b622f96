"""A local OpenID Connect provider for the tests, on loopback: discovery, JWKS, an authorize endpoint that signs
the user in at once and redirects with a code, and a token endpoint that checks the client, the redirect URI
and the PKCE verifier, and issues an RS256 ID token.

`faults` make it misbehave the ways a test needs: `wrong_issuer`, `expired`, `wrong_nonce`, `wrong_audience`,
`unverified_email`, `rotated_key` (signs with a key the JWKS only lists from now on), `foreign_key` (signs with a
key it never publishes).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.api.conftest import LiveServer


def _rsa(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"}, private=True)


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str
    subject: str


@dataclass
class Person:
    subject: str
    email: str
    email_verified: bool = True


@dataclass
class LocalProvider:
    client_id: str = "lore-test"
    client_secret: str | None = "provider-secret"
    issuer: str = ""  # the server's URL, set once it has a port
    person: Person = field(default_factory=lambda: Person("subject-ada", "ada@example.org"))
    faults: set[str] = field(default_factory=set)
    codes: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0
    key: RSAKey = field(default_factory=lambda: _rsa("key-1"))
    next_key: RSAKey = field(default_factory=lambda: _rsa("key-2"))
    foreign: RSAKey = field(default_factory=lambda: _rsa("key-1"))  # same kid, another key

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    async def discovery(self, _request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, _request: Request) -> Response:
        keys = [self.key.as_dict(private=False)]
        if "rotated_key" in self.faults:
            keys.append(self.next_key.as_dict(private=False))
        return JSONResponse({"keys": keys})

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("response_type") != "code" or query.get("client_id") != self.client_id:
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "error_description": "PKCE S256 required"}, 400)
        if "openid" not in query.get("scope", "").split():
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = Grant(
            self.client_id,
            query["redirect_uri"],
            query["nonce"],
            query["code_challenge"],
            self.person.subject,
        )
        back = urlencode({"code": code, "state": query["state"]})
        return RedirectResponse(f"{query['redirect_uri']}?{back}", status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()
        if not self._client_authenticated(request, str(form.get("client_id", ""))):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self.codes.pop(str(form.get("code")), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if form.get("redirect_uri") != grant.redirect_uri or challenge != grant.challenge:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(
            {"access_token": "opaque", "token_type": "Bearer", "id_token": self._id_token(grant)}
        )

    def _client_authenticated(self, request: Request, form_client_id: str) -> bool:
        if self.client_secret is None:
            return form_client_id == self.client_id
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def _id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "https://elsewhere.example" if "wrong_issuer" in self.faults else self.issuer,
            "sub": grant.subject,
            "aud": "another-client" if "wrong_audience" in self.faults else grant.client_id,
            "iat": now - 7200 if "expired" in self.faults else now,
            "exp": now - 3600 if "expired" in self.faults else now + 300,
            "nonce": "another-nonce" if "wrong_nonce" in self.faults else grant.nonce,
            "email": self.person.email,
            "email_verified": self.person.email_verified and "unverified_email" not in self.faults,
        }
        key = self.key
        if "rotated_key" in self.faults:
            key = self.next_key
        if "foreign_key" in self.faults:
            key = self.foreign
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


@contextmanager
def serving() -> Iterator[LocalProvider]:
    """A provider on a real loopback socket, its issuer being its own URL."""
    made = LocalProvider()
    with LiveServer(made.app) as live:  # type: ignore[arg-type]
        made.issuer = live.url
        yield made
