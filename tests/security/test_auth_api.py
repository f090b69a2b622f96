"""Logins over HTTP against a real server: the first owner, token pairs, lockout, MFA, users admin, web sessions
with their CSRF token, and single sign-on through the local OpenID Connect provider."""

from __future__ import annotations

import json
import stat
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from typer.testing import CliRunner

from lore.api import create_app
from lore.cli.main import app as cli
from lore.config import Settings
from lore.models import utcnow
from lore.security import mfa
from lore.security.bootstrap import PASSWORD_FILE
from lore.security.scopes import Scope
from tests.api.conftest import LiveServer, assert_error
from tests.keys import bearer, mint_key
from tests.security.oidc_provider import LocalProvider, Person, serving

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalProvider]:
    with serving() as made:
        yield made


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, model_cache: Path, provider: LocalProvider
) -> Iterator[LiveServer]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("auth-api"),
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        login_max_failures=3,
        rate_limit_sign_in="10000/minute",  # this module signs in far more often than any person
        oidc_issuer=provider.issuer,
        oidc_client_id=provider.client_id,
        oidc_client_secret=provider.client_secret,
    )
    with LiveServer(create_app(settings)) as live:
        yield live


@pytest.fixture(scope="module")
def operator_client(server: LiveServer) -> Iterator[httpx.Client]:
    """The operator's key: every scope of the default tenant."""
    with httpx.Client(base_url=server.url, timeout=60, headers=bearer(mint_key(server.lore.store))) as http:
        yield http


@pytest.fixture
def anonymous(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


class People:
    """Users made through `POST /v1/users` with the operator's key, each with a fresh email."""

    def __init__(self, operator: httpx.Client) -> None:
        self.operator = operator
        self.made = 0

    def add(self, role: str = "viewer", password: str | None = PASSWORD) -> dict[str, Any]:
        self.made += 1
        body: dict[str, Any] = {
            "email": f"{role}{self.made}-{uuid.uuid4().hex[:12]}@example.org",
            "role": role,
        }
        if password is not None:
            body["password"] = password
        response = self.operator.post("/v1/users", json=body)
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def people(operator_client: httpx.Client) -> People:
    return People(operator_client)


def login(client: httpx.Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    assert "no-store" in response.headers["cache-control"]  # tokens are never cached (RFC 6749, 5.1)
    return response.json()


def as_user(tokens: dict[str, Any]) -> dict[str, str]:
    return bearer(tokens["access_token"])


# --- the first owner ----------------------------------------------------------------------------------------


def test_the_first_owner_logs_in_with_the_printed_password_and_changing_it_removes_the_file(
    server: LiveServer, anonymous: httpx.Client
) -> None:
    path = server.lore.settings.storage.data_dir / PASSWORD_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    tokens = login(anonymous, "admin@localhost", password)
    me = anonymous.get("/v1/me", headers=as_user(tokens)).json()
    assert me["role"] == "owner" and Scope.OWNER in me["scopes"] and me["has_password"]
    change = {"current_password": password, "new_password": "the owner's chosen password"}
    assert anonymous.post("/v1/me/password", json=change, headers=as_user(tokens)).status_code == 204
    assert not path.exists()
    assert_error(anonymous.get("/v1/me", headers=as_user(tokens)), 401, "unauthenticated")
    login(anonymous, "admin@localhost", "the owner's chosen password")


# --- token pairs --------------------------------------------------------------------------------------------


def test_a_login_gives_tokens_that_work_refresh_once_and_log_out(
    anonymous: httpx.Client, people: People
) -> None:
    user = people.add("viewer")
    tokens = login(anonymous, user["email"])
    assert tokens["status"] == "authenticated" and tokens["token_type"] == "bearer"
    assert anonymous.post("/v1/search", json={"query": "refunds"}, headers=as_user(tokens)).status_code == 200
    assert_error(anonymous.post("/v1/documents", headers=as_user(tokens)), 403, "forbidden")  # a viewer
    renewed = anonymous.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert renewed.status_code == 200
    again = anonymous.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert assert_error(again, 401, "unauthenticated")["details"]["reason"] == "reused"
    assert_error(anonymous.get("/v1/me", headers=as_user(renewed.json())), 401, "unauthenticated")
    fresh = login(anonymous, user["email"])
    logout = anonymous.post("/v1/auth/logout", json={"refresh_token": fresh["refresh_token"]})
    assert logout.status_code == 204
    assert_error(anonymous.get("/v1/me", headers=as_user(fresh)), 401, "unauthenticated")


def test_a_wrong_password_and_an_unknown_email_answer_alike(anonymous: httpx.Client, people: People) -> None:
    user = people.add()
    wrong = anonymous.post("/v1/auth/login", json={"email": user["email"], "password": "not it at all"})
    unknown = anonymous.post(
        "/v1/auth/login", json={"email": "nobody@example.org", "password": "not it at all"}
    )
    assert assert_error(wrong, 401, "unauthenticated") == assert_error(unknown, 401, "unauthenticated")
    assert wrong.headers["www-authenticate"].startswith("Bearer")


def test_repeated_failures_lock_the_account(anonymous: httpx.Client, people: People) -> None:
    user = people.add()
    for _ in range(3):
        anonymous.post("/v1/auth/login", json={"email": user["email"], "password": "not it at all"})
    locked = anonymous.post("/v1/auth/login", json={"email": user["email"], "password": PASSWORD})
    error = assert_error(locked, 429, "account_locked")
    assert int(locked.headers["retry-after"]) == error["details"]["retry_after_seconds"] > 0
    reset = people.operator.post(f"/v1/users/{user['id']}/password", json={"password": "a reset password!"})
    assert reset.status_code == 200 and reset.json()["locked_until"] is None
    login(anonymous, user["email"], "a reset password!")


def test_tokens_of_a_disabled_user_or_tenant_stop_at_once(
    server: LiveServer, anonymous: httpx.Client, people: People
) -> None:
    user = people.add()
    tokens = login(anonymous, user["email"])
    people.operator.patch(f"/v1/users/{user['id']}", json={"disabled": True}).raise_for_status()
    assert_error(anonymous.get("/v1/me", headers=as_user(tokens)), 401, "unauthenticated")
    assert_error(
        anonymous.post("/v1/auth/login", json={"email": user["email"], "password": PASSWORD}),
        403,
        "forbidden",
    )
    server.lore.store.tenants.create("acme")
    acme_admin = bearer(mint_key(server.lore.store, "acme", frozenset({Scope.ADMIN, Scope.OWNER})))
    created = anonymous.post(
        "/v1/users", json={"email": "ada@acme.example", "password": PASSWORD}, headers=acme_admin
    )
    acme = anonymous.post(
        "/v1/auth/login", json={"tenant": "acme", "email": "ada@acme.example", "password": PASSWORD}
    )
    assert created.status_code == 201 and acme.status_code == 200
    installation = bearer(mint_key(server.lore.store, scopes=frozenset({Scope.INSTALLATION})))
    anonymous.patch("/v1/tenants/acme", json={"disabled": True}, headers=installation).raise_for_status()
    refused = anonymous.get("/v1/me", headers=as_user(acme.json()))
    assert assert_error(refused, 401, "unauthenticated")["details"]["reason"] == "tenant_disabled"


# --- MFA ----------------------------------------------------------------------------------------------------


def enrol(client: httpx.Client, headers: dict[str, str]) -> tuple[str, list[str]]:
    enrolment = client.post("/v1/auth/mfa/enrol", headers=headers)
    assert enrolment.status_code == 200, enrolment.text
    secret = enrolment.json()["secret"]
    assert enrolment.json()["provisioning_uri"].startswith("otpauth://totp/")
    verified = client.post(
        "/v1/auth/mfa/verify", json={"code": mfa.current_code(secret, utcnow())}, headers=headers
    )
    assert verified.status_code == 200, verified.text
    return secret, verified.json()["recovery_codes"]


def test_mfa_login_takes_two_steps_and_recovery_codes_work_once(
    anonymous: httpx.Client, people: People
) -> None:
    user = people.add("editor")
    _, codes = enrol(anonymous, as_user(login(anonymous, user["email"])))
    step = login(anonymous, user["email"])
    assert step["status"] == "mfa_required" and "access_token" not in step
    assert_error(anonymous.get("/v1/me", headers=bearer(step["mfa_token"])), 401, "unauthenticated")
    finish = {"mfa_token": step["mfa_token"], "code": codes[0]}
    tokens = anonymous.post("/v1/auth/login/mfa", json=finish)
    assert tokens.status_code == 200 and tokens.json()["status"] == "authenticated"
    assert anonymous.get("/v1/me", headers=as_user(tokens.json())).json()["mfa_enabled"]
    assert_error(anonymous.post("/v1/auth/login/mfa", json=finish), 401, "unauthenticated")
    assert_error(anonymous.post("/v1/auth/mfa/enrol", headers=as_user(tokens.json())), 409, "conflict")


def test_new_recovery_codes_and_an_admin_reset(anonymous: httpx.Client, people: People) -> None:
    user = people.add()
    headers = as_user(login(anonymous, user["email"]))
    secret, old = enrol(anonymous, headers)
    wrong = anonymous.post("/v1/auth/mfa/recovery-codes", json={"code": old[0]}, headers=headers)
    assert_error(wrong, 422, "invalid_input")
    too_short = anonymous.post("/v1/auth/mfa/recovery-codes", json={"code": "12345"}, headers=headers)
    assert_error(too_short, 422, "invalid_request")
    renewed = anonymous.post(
        "/v1/auth/mfa/recovery-codes",
        json={"code": mfa.current_code(secret, utcnow() + timedelta(seconds=30))},
        headers=headers,
    )
    assert renewed.status_code == 200 and set(renewed.json()["recovery_codes"]).isdisjoint(old)
    reset = people.operator.delete(f"/v1/users/{user['id']}/mfa")
    assert reset.status_code == 200 and not reset.json()["mfa_enabled"]
    assert login(anonymous, user["email"])["status"] == "authenticated"


def test_a_tenant_requiring_mfa_holds_admins_to_viewing(
    server: LiveServer, anonymous: httpx.Client, people: People
) -> None:
    server.lore.store.tenants.create("strict")
    server.lore.store.tenants.set_settings("strict", {"require_admin_mfa": True})
    owner = bearer(mint_key(server.lore.store, "strict", frozenset({Scope.ADMIN, Scope.OWNER})))
    body = {"email": "boss@strict.example", "role": "admin", "password": PASSWORD}
    assert anonymous.post("/v1/users", json=body, headers=owner).status_code == 201
    credentials = {"tenant": "strict", "email": body["email"], "password": PASSWORD}
    tokens = anonymous.post("/v1/auth/login", json=credentials).json()
    me = anonymous.get("/v1/me", headers=as_user(tokens)).json()
    assert me["mfa_enrolment_required"] and Scope.ADMIN not in me["scopes"]
    assert_error(anonymous.get("/v1/users", headers=as_user(tokens)), 403, "forbidden")
    enrol(anonymous, as_user(tokens))
    assert anonymous.get("/v1/users", headers=as_user(tokens)).status_code == 200


# --- users admin --------------------------------------------------------------------------------------------


def test_admins_manage_users_and_owners_manage_admins(anonymous: httpx.Client, people: People) -> None:
    admin = people.add("admin")
    headers = as_user(login(anonymous, admin["email"]))
    made = anonymous.post("/v1/users", json={"email": "New@Example.org", "role": "editor"}, headers=headers)
    assert made.status_code == 201
    user = made.json()
    assert user["email"] == "new@example.org" and not user["has_password"]
    again = anonymous.post("/v1/users", json={"email": "new@example.org"}, headers=headers)
    assert_error(again, 409, "conflict")
    path = f"/v1/users/{user['id']}"
    promote = anonymous.patch(path, json={"role": "admin"}, headers=headers)
    assert assert_error(promote, 403, "forbidden")["details"]["needs"] == "owner"
    assert anonymous.patch(path, json={"role": "viewer"}, headers=headers).json()["role"] == "viewer"
    assert_error(anonymous.patch(path, json={}, headers=headers), 422, "invalid_request")
    assert_error(anonymous.get("/v1/users/no-such-user", headers=headers), 404, "not_found")
    listed = anonymous.get("/v1/users", params={"limit": 2}, headers=headers).json()
    assert len(listed["items"]) == 2 and listed["next_cursor"]
    values = [str(value) for item in listed["items"] for value in item.values()]
    assert not any(value.startswith("$argon2") for value in values)


def test_the_last_owner_stays(server: LiveServer, anonymous: httpx.Client) -> None:
    server.lore.store.tenants.create("solo")
    key = bearer(mint_key(server.lore.store, "solo", frozenset({Scope.ADMIN, Scope.OWNER})))
    owner = anonymous.post(
        "/v1/users", json={"email": "only@solo.example", "role": "owner"}, headers=key
    ).json()
    assert_error(
        anonymous.patch(f"/v1/users/{owner['id']}", json={"role": "admin"}, headers=key), 409, "conflict"
    )
    assert_error(
        anonymous.patch(f"/v1/users/{owner['id']}", json={"disabled": True}, headers=key), 409, "conflict"
    )


def test_a_key_has_no_account(operator_client: httpx.Client) -> None:
    assert assert_error(operator_client.get("/v1/me"), 403, "forbidden")["details"]["required"] == "user"


# --- web sessions -------------------------------------------------------------------------------------------


def cookie_attributes(response: httpx.Response) -> dict[str, str]:
    found = {}
    for line in response.headers.get_list("set-cookie"):
        name = line.split("=", 1)[0]
        found[name] = line.lower()
    return found


def test_a_session_cookie_needs_the_csrf_token_for_every_change(
    anonymous: httpx.Client, people: People
) -> None:
    admin = people.add("admin")
    opened = anonymous.post("/v1/auth/session", json={"email": admin["email"], "password": PASSWORD})
    assert opened.status_code == 200 and opened.json()["user"]["id"] == admin["id"]
    cookies = cookie_attributes(opened)
    assert "httponly" in cookies["lore_session"] and "samesite=lax" in cookies["lore_session"]
    assert "httponly" not in cookies["lore_csrf"] and "secure" not in cookies["lore_session"]  # plain HTTP
    csrf = opened.json()["csrf_token"]
    assert anonymous.cookies["lore_csrf"] == csrf and csrf not in anonymous.cookies["lore_session"]
    assert anonymous.get("/v1/me").json()["id"] == admin["id"]  # reading needs no token
    new_user = {"email": f"csrf-{id(anonymous)}@example.org"}
    assert_error(anonymous.post("/v1/users", json=new_user), 403, "csrf_failed")
    assert_error(
        anonymous.post("/v1/users", json=new_user, headers={"X-CSRF-Token": "forged"}), 403, "csrf_failed"
    )
    assert anonymous.post("/v1/users", json=new_user, headers={"X-CSRF-Token": csrf}).status_code == 201
    assert_error(anonymous.delete("/v1/auth/session"), 403, "csrf_failed")
    closed = anonymous.delete("/v1/auth/session", headers={"X-CSRF-Token": csrf})
    assert closed.status_code == 204 and "lore_session" not in anonymous.cookies
    anonymous.cookies.set("lore_session", opened.cookies["lore_session"])
    assert_error(anonymous.get("/v1/me"), 401, "unauthenticated")


def test_a_bearer_token_wins_over_a_cookie_and_needs_no_csrf_token(
    anonymous: httpx.Client, people: People
) -> None:
    viewer, admin = people.add("viewer"), people.add("admin")
    anonymous.post(
        "/v1/auth/session", json={"email": viewer["email"], "password": PASSWORD}
    ).raise_for_status()
    headers = as_user(login(anonymous, admin["email"]))
    assert anonymous.get("/v1/me", headers=headers).json()["id"] == admin["id"]
    made = anonymous.post("/v1/users", json={"email": f"b-{id(headers)}@example.org"}, headers=headers)
    assert made.status_code == 201


def test_the_session_cookie_is_secure_behind_tls(anonymous: httpx.Client, people: People) -> None:
    user = people.add()
    body = {"email": user["email"], "password": PASSWORD}
    opened = anonymous.post("/v1/auth/session", json=body, headers={"X-Forwarded-Proto": "https"})
    assert all("; secure" in line for line in cookie_attributes(opened).values())


def test_a_session_login_with_mfa_takes_two_steps(anonymous: httpx.Client, people: People) -> None:
    user = people.add()
    secret, _ = enrol(anonymous, as_user(login(anonymous, user["email"])))
    step = anonymous.post("/v1/auth/session", json={"email": user["email"], "password": PASSWORD}).json()
    assert step["status"] == "mfa_required" and "lore_session" not in anonymous.cookies
    code = mfa.current_code(secret, utcnow() + timedelta(seconds=30))  # the next step
    done = anonymous.post("/v1/auth/session/mfa", json={"mfa_token": step["mfa_token"], "code": code})
    assert done.status_code == 200 and anonymous.get("/v1/me").json()["id"] == user["id"]


# --- single sign-on -----------------------------------------------------------------------------------------


def start(client: httpx.Client, **params: str) -> httpx.Response:
    began = client.get("/v1/auth/oidc/default/start", params=params)
    assert began.status_code == 302, began.text
    assert "httponly" in cookie_attributes(began)["lore_oidc"]
    assert "path=/v1/auth/oidc/" in cookie_attributes(began)["lore_oidc"]
    at_provider = httpx.get(began.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    return at_provider


def test_single_sign_on_opens_a_web_session(anonymous: httpx.Client, provider: LocalProvider) -> None:
    provider.faults.clear()
    provider.person = Person("subject-grace", "grace@example.org")
    back = start(anonymous)
    callback = urlparse(back.headers["location"])
    assert callback.path == "/v1/auth/oidc/default/callback"
    signed = anonymous.get(back.headers["location"])
    assert signed.status_code == 200, signed.text
    assert signed.json()["user"]["email"] == "grace@example.org" and signed.json()["user"]["single_sign_on"]
    assert "lore_oidc" not in anonymous.cookies
    assert anonymous.get("/v1/me").json()["email"] == "grace@example.org"


def test_single_sign_on_goes_on_to_return_to(anonymous: httpx.Client, provider: LocalProvider) -> None:
    provider.faults.clear()
    back = start(anonymous, return_to="/v1/me")
    signed = anonymous.get(back.headers["location"])
    assert signed.status_code == 303 and signed.headers["location"] == "/v1/me"
    assert anonymous.get("/v1/me").status_code == 200
    assert_error(
        anonymous.get("/v1/auth/oidc/default/start", params={"return_to": "https://evil.example"}),
        422,
        "invalid_input",
    )


def test_a_callback_with_another_state_or_a_bad_token_is_refused(
    anonymous: httpx.Client, provider: LocalProvider
) -> None:
    provider.faults.clear()
    back = parse_qs(urlparse(start(anonymous).headers["location"]).query)
    forged = anonymous.get(
        "/v1/auth/oidc/default/callback", params={"code": back["code"][0], "state": "forged"}
    )
    assert assert_error(forged, 401, "unauthenticated")["details"]["reason"] == "state_mismatch"
    provider.faults.add("expired")
    expired = anonymous.get(start(anonymous).headers["location"])
    assert assert_error(expired, 401, "unauthenticated")["details"]["reason"] == "expired"
    provider.faults.clear()
    denied = anonymous.get("/v1/auth/oidc/default/callback", params={"error": "access_denied", "state": "x"})
    assert assert_error(denied, 401, "unauthenticated")["details"]["reason"] == "provider_error"
    assert_error(anonymous.get("/v1/auth/oidc/default/callback"), 422, "invalid_input")
    assert_error(anonymous.get("/v1/auth/oidc/nowhere/start"), 404, "not_found")


# --- the operator's command line ----------------------------------------------------------------------------


def test_lore_users_create_and_reset_password_print_passwords_that_work(
    server: LiveServer, anonymous: httpx.Client
) -> None:
    data_dir = str(server.lore.settings.storage.data_dir)
    made = CliRunner().invoke(
        cli, ["users", "create", "cli@example.org", "--role", "editor", "--json", "--data-dir", data_dir]
    )
    assert made.exit_code == 0, made.output
    created = json.loads(made.output)
    assert created["role"] == "editor" and login(anonymous, "cli@example.org", created["password"])
    listed = CliRunner().invoke(cli, ["users", "list", "--json", "--data-dir", data_dir])
    assert created["id"] in listed.output and created["password"] not in listed.output
    reset = CliRunner().invoke(
        cli, ["users", "reset-password", "CLI@example.org", "--json", "--data-dir", data_dir]
    )
    assert reset.exit_code == 0, reset.output
    new_password = json.loads(reset.output)["password"]
    assert new_password != created["password"]
    stale = anonymous.post(
        "/v1/auth/login", json={"email": "cli@example.org", "password": created["password"]}
    )
    assert_error(stale, 401, "unauthenticated")
    login(anonymous, "cli@example.org", new_password)
    elsewhere = CliRunner().invoke(
        cli, ["users", "create", "x@example.org", "--tenant", "nowhere", "--data-dir", data_dir]
    )
    assert elsewhere.exit_code != 0


# --- the audit log ------------------------------------------------------------------------------------------


def test_sign_ins_and_account_changes_are_audited_without_their_secrets(
    anonymous: httpx.Client, operator_client: httpx.Client, people: People
) -> None:
    user = people.add("editor")
    wrong = anonymous.post("/v1/auth/login", json={"email": user["email"], "password": "a wrong guess"})
    assert wrong.status_code == 401
    login(anonymous, user["email"])
    operator_client.patch(f"/v1/users/{user['id']}", json={"role": "viewer"}).raise_for_status()
    records = operator_client.get("/v1/audit", params={"target": f"user:{user['id']}", "limit": 50}).json()
    actions = [record["action"] for record in records["items"]]
    assert {"user.created", "auth.login", "user.updated"} <= set(actions)
    failed = operator_client.get("/v1/audit", params={"action": "auth.login_failed", "limit": 200}).json()
    assert any(record["summary"]["email"] == user["email"] for record in failed["items"])
    updated = next(record for record in records["items"] if record["action"] == "user.updated")
    assert (
        updated["summary"]["before"]["role"] == "editor" and updated["summary"]["after"]["role"] == "viewer"
    )
    assert PASSWORD not in str(records) and "a wrong guess" not in str(failed)


def actions_of(operator_client: httpx.Client, user: dict[str, Any]) -> list[dict[str, Any]]:
    records = operator_client.get("/v1/audit", params={"target": f"user:{user['id']}", "limit": 100}).json()
    return list(records["items"])


def test_a_wrong_second_step_a_reused_refresh_token_and_a_logout_are_audited(
    anonymous: httpx.Client, operator_client: httpx.Client, people: People
) -> None:
    user = people.add("viewer")
    tokens = login(anonymous, user["email"])
    anonymous.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).raise_for_status()
    anonymous.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})  # reused
    fresh = login(anonymous, user["email"])
    assert (
        anonymous.post("/v1/auth/logout", json={"refresh_token": fresh["refresh_token"]}).status_code == 204
    )
    enrol(anonymous, as_user(login(anonymous, user["email"])))
    step = login(anonymous, user["email"])
    wrong = anonymous.post("/v1/auth/login/mfa", json={"mfa_token": step["mfa_token"], "code": "000000"})
    assert_error(wrong, 401, "unauthenticated")
    records = actions_of(operator_client, user)
    by_action = {record["action"]: record for record in records}
    assert {"auth.refresh_reused", "auth.logout", "auth.login_failed"} <= set(by_action)
    assert by_action["auth.login_failed"]["summary"] == {
        "email": user["email"],
        "with": "mfa",
        "reason": "invalid_code",
    }
    assert all(
        record["actor"] == f"user:{user['id']}" for record in records if record["action"] != "user.created"
    )
    assert fresh["refresh_token"] not in str(records) and tokens["refresh_token"] not in str(records)


def test_single_sign_on_is_audited_refused_or_not(
    anonymous: httpx.Client, operator_client: httpx.Client, provider: LocalProvider
) -> None:
    provider.faults.clear()
    provider.person = Person("subject-ada", "ada@example.org")
    assert anonymous.get(start(anonymous).headers["location"]).status_code == 200
    denied = anonymous.get("/v1/auth/oidc/default/callback", params={"error": "access_denied", "state": "x"})
    assert_error(denied, 401, "unauthenticated")
    logins = operator_client.get("/v1/audit", params={"action": "auth.login", "limit": 200}).json()["items"]
    assert any(r["summary"] == {"email": "ada@example.org", "with": "oidc"} for r in logins)
    failed = operator_client.get("/v1/audit", params={"action": "auth.login_failed", "limit": 200}).json()
    assert any(r["summary"] == {"with": "oidc", "reason": "provider_error"} for r in failed["items"])
