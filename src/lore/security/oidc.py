"""`OidcClient`: the relying party's side of OpenID Connect's authorization-code flow, with PKCE (S256), state
and nonce.

    >>> request = client.authorization_request(config, redirect_uri)   # send the browser to request.url
    >>> identity = client.identity(config, redirect_uri, code, request.nonce, request.verifier)

The provider's discovery document and keys are fetched over HTTP and kept for an hour (keys again at once when a
token names one not seen yet: the provider rotated them). An ID token is accepted only if an asymmetric key of
the provider signed it (never `none` or a shared secret), for this issuer and client, unexpired (a minute of
clock skew), and with the nonce this login sent.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidKeyIdError, JoseError, MissingClaimError
from joserfc.jwk import KeySet

from lore.errors import Unauthenticated, Unavailable
from lore.security.scopes import RoleName

ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
CLOCK_SKEW_SECONDS = 60
CACHE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class OidcConfig:
    """One tenant's identity provider. With no client secret Lore is a public client (PKCE alone)."""

    issuer: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str | None = None
    default_role: RoleName = "viewer"  # of users created at their first sign-on
    create_users: bool = True  # False: only users an admin created may sign on


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    verifier: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    subject: str
    email: str | None
    email_verified: bool


def _refused(reason: str, message: str) -> Unauthenticated:
    return Unauthenticated(f"single sign-on failed: {message}", details={"reason": reason})


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class OidcClient:
    def __init__(self, http: httpx.Client, clock: Callable[[], float] = time.time) -> None:
        self.http = http
        self._clock = clock
        self._metadata: dict[str, tuple[float, ProviderMetadata]] = {}
        self._keys: dict[str, tuple[float, KeySet]] = {}

    # --- the provider ------------------------------------------------------------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self.http.get(url)
            response.raise_for_status()
            found = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise Unavailable("the identity provider cannot be reached", details={"url": url}) from error
        if not isinstance(found, dict):
            raise Unavailable("the identity provider answered something else than JSON", details={"url": url})
        return found

    def metadata(self, issuer: str) -> ProviderMetadata:
        cached = self._metadata.get(issuer)
        if cached is not None and self._clock() - cached[0] < CACHE_SECONDS:
            return cached[1]
        found = self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        if found.get("issuer") != issuer:
            raise Unavailable("the discovery document is another issuer's", details={"issuer": issuer})
        try:
            supported = found.get("id_token_signing_alg_values_supported") or ["RS256"]
            metadata = ProviderMetadata(
                issuer=issuer,
                authorization_endpoint=str(found["authorization_endpoint"]),
                token_endpoint=str(found["token_endpoint"]),
                jwks_uri=str(found["jwks_uri"]),
                algorithms=tuple(alg for alg in supported if alg in ASYMMETRIC_ALGORITHMS),
            )
        except KeyError as missing:
            raise Unavailable(
                "the discovery document is incomplete", details={"missing": str(missing)}
            ) from None
        self._metadata[issuer] = (self._clock(), metadata)
        return metadata

    def _key_set(self, metadata: ProviderMetadata, *, fresh: bool = False) -> KeySet:
        cached = self._keys.get(metadata.jwks_uri)
        if cached is not None and not fresh and self._clock() - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            keys = KeySet.import_key_set(self._get_json(metadata.jwks_uri))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError) as error:
            raise Unavailable("the identity provider's keys cannot be read") from error
        self._keys[metadata.jwks_uri] = (self._clock(), keys)
        return keys

    # --- the flow ----------------------------------------------------------------------------------------

    def authorization_request(self, config: OidcConfig, redirect_uri: str) -> AuthorizationRequest:
        """Where to send the browser, and the state, nonce and PKCE verifier to keep until it comes back."""
        metadata = self.metadata(config.issuer)
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        query = {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        joiner = "&" if "?" in metadata.authorization_endpoint else "?"
        return AuthorizationRequest(
            metadata.authorization_endpoint + joiner + urlencode(query), state, nonce, verifier
        )

    def identity(
        self, config: OidcConfig, redirect_uri: str, code: str, nonce: str, verifier: str
    ) -> VerifiedIdentity:
        """Trade the code for an ID token and verify it."""
        metadata = self.metadata(config.issuer)
        id_token = self._id_token(config, metadata, redirect_uri, code, verifier)
        claims = self._verified_claims(id_token, config, metadata, nonce)
        email = claims.get("email")
        return VerifiedIdentity(
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) else None,
            email_verified=claims.get("email_verified") is True,
        )

    def _id_token(
        self, config: OidcConfig, metadata: ProviderMetadata, redirect_uri: str, code: str, verifier: str
    ) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        headers = {}
        if config.client_secret is None:
            form["client_id"] = config.client_id
        else:
            headers["Authorization"] = _basic_auth(config.client_id, config.client_secret)
        try:
            response = self.http.post(metadata.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError as error:
            raise Unavailable("the identity provider cannot be reached") from error
        body = _json_or_empty(response)
        if response.status_code != 200:
            raise _refused(
                "token_refused", f"the provider refused the code ({body.get('error', response.status_code)})"
            )
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise _refused("no_id_token", "the provider sent no ID token")
        return id_token

    def _verified_claims(
        self, id_token: str, config: OidcConfig, metadata: ProviderMetadata, nonce: str
    ) -> dict[str, Any]:
        claims = self._signed_claims(id_token, metadata)
        registry = jwt.JWTClaimsRegistry(
            now=int(self._clock()),
            leeway=CLOCK_SKEW_SECONDS,
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(claims)
        except ClaimError as error:
            raise _refused(
                _claim_reason(error), f"the ID token does not hold ({error.description})"
            ) from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != config.client_id:
            raise _refused("invalid_azp", "the ID token was issued to another party")
        if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
            raise _refused("nonce_mismatch", "the ID token is not this login's (nonce)")
        return claims

    def _signed_claims(self, id_token: str, metadata: ProviderMetadata) -> dict[str, Any]:
        if not metadata.algorithms:
            raise Unavailable("the identity provider signs with no algorithm Lore accepts")
        for fresh in (False, True):
            try:
                return jwt.decode(id_token, self._key_set(metadata, fresh=fresh), metadata.algorithms).claims
            except InvalidKeyIdError:
                continue  # keys rotated since they were fetched: fetch them once more
            except JoseError:
                break
        raise _refused("invalid_signature", "the ID token's signature does not hold")


def _basic_auth(client_id: str, client_secret: str) -> str:
    """client_secret_basic: both parts form-encoded before they are joined (RFC 6749, section 2.3.1)."""
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _claim_reason(error: ClaimError) -> str:
    if isinstance(error, ExpiredTokenError):
        return "expired"
    if isinstance(error, MissingClaimError):
        return "missing_claims"
    return f"invalid_{error.claim}"


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        found = response.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
