"""Single sign-on against the local OpenID Connect provider, on SQLite and PostgreSQL: users created or matched
by verified email, and every way an ID token or a callback can be wrong is refused."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import sqlalchemy as sa

from lore.backends.store.database import Database
from lore.backends.store.schema import tenant_secrets
from lore.config import Settings
from lore.errors import Forbidden, InvalidInput, NotFound, Unauthenticated, Unavailable
from lore.models import utcnow
from lore.security.identity import Identity
from lore.security.principal import operator
from lore.security.sso import SignedOn
from tests.security.conftest import SECRET, Clock, Staff
from tests.security.oidc_provider import LocalProvider, Person, serving

CALLBACK = "http://127.0.0.1:9/v1/auth/oidc/default/callback"


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    with serving() as made:
        yield made


@pytest.fixture
def sso_provider(provider: LocalProvider) -> LocalProvider:
    provider.faults.clear()
    provider.person = Person("subject-ada", "ada@example.org")
    provider.client_secret = "provider-secret"
    return provider


@pytest.fixture
def sso(
    db: Database, auth_settings: Settings, clock: Clock, sso_provider: LocalProvider
) -> Iterator[Identity]:
    settings = auth_settings.updated(
        oidc_issuer=sso_provider.issuer,
        oidc_client_id=sso_provider.client_id,
        oidc_client_secret="provider-secret",
    )
    made = Identity(db, settings, SECRET, clock=clock)
    yield made
    made.close()


def browse(identity: Identity, tenant: str = "default", return_to: str | None = None) -> tuple[str, str, str]:
    """Start a sign-on and follow the browser to the provider and back: (code, state, state cookie)."""
    start = identity.sso.start(tenant, CALLBACK, return_to)
    answer = httpx.get(start.url)
    assert answer.status_code == 302, answer.text
    back = urlparse(answer.headers["location"])
    assert back.geturl().startswith(CALLBACK)
    query = parse_qs(back.query)
    return query["code"][0], query["state"][0], start.state_cookie


def sign_on(identity: Identity, tenant: str = "default") -> SignedOn:
    code, state, cookie = browse(identity, tenant)
    return identity.sso.finish(tenant, code, state, cookie)


def refused(identity: Identity) -> str:
    with pytest.raises(Unauthenticated) as error:
        sign_on(identity)
    return str(error.value.details["reason"])


def test_the_authorization_request_uses_pkce_state_and_nonce(sso: Identity) -> None:
    start = sso.sso.start("default", CALLBACK)
    query = parse_qs(urlparse(start.url).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [CALLBACK] and query["scope"] == ["openid email profile"]
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["state"][0] not in start.url.split("state=")[0]
    flow = sso.signer.verify(start.state_cookie, "oidc")
    assert flow["state"] == query["state"][0] and flow["verifier"] not in start.url


def test_a_first_sign_on_creates_the_user_and_the_next_finds_it(sso: Identity) -> None:
    first = sign_on(sso).user
    assert (first.email, first.role, first.oidc_subject, first.password_hash) == (
        "ada@example.org",
        "viewer",
        "subject-ada",
        None,
    )
    assert sign_on(sso).user.id == first.id
    assert sso.users.count("default") == 1


def test_an_existing_user_is_matched_by_verified_email_and_linked(sso: Identity, staff: Staff) -> None:
    ada = staff.add("Ada@Example.org", "editor")
    signed = sign_on(sso).user
    assert signed.id == ada.id and signed.role == "editor" and signed.oidc_subject == "subject-ada"


def test_an_unverified_email_is_not_trusted(sso: Identity, sso_provider: LocalProvider, staff: Staff) -> None:
    staff.add("ada@example.org", "admin")
    sso_provider.faults.add("unverified_email")
    with pytest.raises(Forbidden) as error:
        sign_on(sso)
    assert error.value.details["reason"] == "email_not_verified"


def test_another_subject_cannot_take_over_a_linked_user(sso: Identity, sso_provider: LocalProvider) -> None:
    sign_on(sso)
    sso_provider.person = Person("subject-mallory", "ada@example.org")
    with pytest.raises(Forbidden) as error:
        sign_on(sso)
    assert error.value.details["reason"] == "other_subject"


def test_a_disabled_user_cannot_sign_on(sso: Identity) -> None:
    user = sign_on(sso).user
    sso.accounts.update(operator("default"), user.id, disabled=True)
    with pytest.raises(Forbidden):
        sign_on(sso)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("wrong_issuer", "invalid_iss"),
        ("expired", "expired"),
        ("wrong_nonce", "nonce_mismatch"),
        ("wrong_audience", "invalid_aud"),
        ("foreign_key", "invalid_signature"),
    ],
)
def test_a_bad_id_token_is_refused(
    sso: Identity, sso_provider: LocalProvider, fault: str, reason: str
) -> None:
    sso_provider.faults.add(fault)
    assert refused(sso) == reason
    assert sso.users.count("default") == 0


def test_keys_rotated_at_the_provider_are_fetched_again(sso: Identity, sso_provider: LocalProvider) -> None:
    sign_on(sso)  # the first key is cached now
    sso_provider.faults.add("rotated_key")
    assert sign_on(sso).user.email == "ada@example.org"


def test_a_state_that_does_not_match_is_refused(sso: Identity, sso_provider: LocalProvider) -> None:
    code, _state, cookie = browse(sso)
    with pytest.raises(Unauthenticated) as error:
        sso.sso.finish("default", code, "someone-elses-state", cookie)
    assert error.value.details["reason"] == "state_mismatch"
    code, state, _cookie = browse(sso)
    _, _, other_cookie = browse(sso)  # another login of the same browser
    with pytest.raises(Unauthenticated):
        sso.sso.finish("default", code, state, other_cookie)
    with pytest.raises(Unauthenticated) as error:
        sso.sso.finish("default", code, state, None)
    assert error.value.details["reason"] == "state_missing"


def test_a_code_works_once(sso: Identity) -> None:
    code, state, cookie = browse(sso)
    sso.sso.finish("default", code, state, cookie)
    with pytest.raises(Unauthenticated) as error:
        sso.sso.finish("default", code, state, cookie)
    assert error.value.details["reason"] == "token_refused"


def test_return_to_must_stay_on_this_server(sso: Identity) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "relative"):
        with pytest.raises(InvalidInput):
            sso.sso.start("default", CALLBACK, target)
    code, state, cookie = browse(sso, return_to="/ui/search?q=x")
    assert sso.sso.finish("default", code, state, cookie).return_to == "/ui/search?q=x"


def test_a_tenant_without_a_provider_has_no_sign_on(db: Database, sso: Identity) -> None:
    db.tenants.create("other")
    with pytest.raises(NotFound):
        sso.sso.start("other", CALLBACK)


def test_a_tenant_policy_names_its_own_provider_and_secret(
    db: Database, sso: Identity, sso_provider: LocalProvider
) -> None:
    db.tenants.create("acme")
    policy = {
        "oidc": {"issuer": sso_provider.issuer, "client_id": sso_provider.client_id, "default_role": "editor"}
    }
    db.tenants.set_settings("acme", policy)
    cipher = sso.mfa.cipher
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(tenant_secrets).values(
                tenant_id="acme",
                name="oidc_client_secret",
                ciphertext=cipher.encrypt("provider-secret"),
                masked="prov…",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    user = sign_on(sso, "acme").user
    assert (user.tenant_id, user.role) == ("acme", "editor")
    sso_provider.client_secret = None  # a public client: PKCE alone
    with db.engine.begin() as conn:
        conn.execute(sa.delete(tenant_secrets))
    assert sign_on(sso, "acme").user.id == user.id


def test_a_tenant_that_creates_no_users_signs_on_only_known_ones(
    db: Database, sso: Identity, sso_provider: LocalProvider, staff: Staff
) -> None:
    policy = {
        "oidc": {"issuer": sso_provider.issuer, "client_id": sso_provider.client_id, "create_users": False}
    }
    sso_provider.client_secret = None  # the policy names no secret: the settings' one is not the tenant's
    db.tenants.set_settings("default", policy)
    with pytest.raises(Forbidden) as error:
        sign_on(sso)
    assert error.value.details["reason"] == "no_user"
    staff.add("ada@example.org")
    assert sign_on(sso).user.email == "ada@example.org"


def test_an_unreachable_provider_is_unavailable(db: Database, auth_settings: Settings) -> None:
    settings = auth_settings.updated(oidc_issuer="http://127.0.0.1:9", oidc_client_id="x", oidc_timeout=2)
    identity = Identity(db, settings, SECRET)
    try:
        with pytest.raises(Unavailable):
            identity.sso.start("default", CALLBACK)
    finally:
        identity.close()
