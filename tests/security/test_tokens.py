"""Signed tokens: they expire, a changed byte or another secret breaks them, and each purpose refuses the others'."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from lore.errors import Unauthenticated
from lore.security.tokens import AccessClaims, TokenSigner, looks_signed, new_opaque_token, opaque_hash
from tests.security.conftest import SECRET

CLAIMS = AccessClaims("user-1", "default", "editor", "family-1")


def signer(secret: str = SECRET, *, past: float = 0.0) -> TokenSigner:
    return TokenSigner(secret, "lore", clock=lambda: datetime.now(UTC) - timedelta(seconds=past))


def reason(error: pytest.ExceptionInfo[Unauthenticated]) -> str:
    return str(error.value.details["reason"])


def test_an_access_token_carries_its_claims() -> None:
    token = signer().access_token(CLAIMS, ttl=60)
    assert looks_signed(token)
    assert signer().access_claims(token) == CLAIMS
    found = jwt.decode(token, options={"verify_signature": False})
    assert set(found) == {"sub", "tenant", "role", "sid", "iat", "exp", "jti", "iss", "aud"}
    assert found["iss"] == found["aud"] == "lore" and found["exp"] - found["iat"] == 60


def test_every_token_has_its_own_id() -> None:
    first, second = (signer().access_token(CLAIMS, ttl=60) for _ in range(2))
    ids = {jwt.decode(t, options={"verify_signature": False})["jti"] for t in (first, second)}
    assert len(ids) == 2


def test_an_expired_token_is_refused() -> None:
    token = signer(past=120).access_token(CLAIMS, ttl=60)
    with pytest.raises(Unauthenticated) as error:
        signer().access_claims(token)
    assert reason(error) == "expired"


def test_a_tampered_token_is_refused() -> None:
    header, payload, signature = signer().access_token(CLAIMS, ttl=60).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "owner"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated) as error:
        signer().access_claims(f"{header}.{forged}.{signature}")
    assert reason(error) == "invalid"


def test_a_token_of_another_secret_is_refused() -> None:
    token = signer("another-secret-" + "x" * 32).access_token(CLAIMS, ttl=60)
    with pytest.raises(Unauthenticated):
        signer().access_claims(token)


def test_an_unsigned_token_is_refused() -> None:
    claims = jwt.decode(signer().access_token(CLAIMS, ttl=60), options={"verify_signature": False})
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    with pytest.raises(Unauthenticated):
        signer().access_claims(unsigned)


def test_an_mfa_challenge_is_not_an_access_token() -> None:
    challenge = signer().sign("mfa", "user-1", 60, {"tenant": "default", "role": "owner", "sid": "x"})
    with pytest.raises(Unauthenticated):
        signer().access_claims(challenge)
    assert signer().verify(challenge, "mfa")["sub"] == "user-1"


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 characters"):
        TokenSigner("short", "lore")


def test_opaque_tokens_are_random_and_stored_by_hash() -> None:
    token = new_opaque_token()
    assert len(token) >= 43 and token != new_opaque_token()
    assert opaque_hash(token) == opaque_hash(token) and token not in opaque_hash(token)
    assert not looks_signed(token)
