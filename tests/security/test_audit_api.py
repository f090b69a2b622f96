"""The audit log, the secrets and the tenant settings over the real HTTP server: writes are recorded with who,
what, where from and which request; pages and exports are the tenant's own; values of secrets never come out."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from lore.backends.store.audit_records import AuditRecord
from lore.security.audit import check_chain
from lore.security.scopes import ROLE_SCOPES, Scope
from tests.api.conftest import LiveServer, assert_error, small_server
from tests.keys import EVERY_SCOPE, bearer, mint_key

SECRET = "sk-live-abcdefghijklmnop0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[LiveServer]:
    # policy_cache_seconds=0: a tenant's quotas apply from the next request
    with small_server(tmp_path_factory.mktemp("audit-api"), model_cache, policy_cache_seconds=0) as live:
        live.lore.store.tenants.create("acme")
        yield live


class Caller(httpx.Client):
    key_id: str


def caller(server: LiveServer, tenant: str, scopes: frozenset[Scope]) -> Caller:
    token = mint_key(server.lore.store, tenant, scopes)
    client = Caller(base_url=server.url, headers=bearer(token), timeout=60)
    client.key_id = token.split("_")[2]
    return client


@pytest.fixture(scope="module")
def callers(server: LiveServer) -> Iterator[dict[str, Caller]]:
    roles: dict[str, tuple[str, frozenset[Scope]]] = {
        "operator": ("default", EVERY_SCOPE),
        **{role: ("default", ROLE_SCOPES[role]) for role in ("owner", "admin", "editor")},
        "acme_admin": ("acme", ROLE_SCOPES["admin"]),
    }
    made = {name: caller(server, tenant, scopes) for name, (tenant, scopes) in roles.items()}
    yield made
    for client in made.values():
        client.close()


def records(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/audit", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def newest(client: httpx.Client, action: str) -> dict[str, Any]:
    return records(client, action=action)[0]


def test_writes_are_recorded_with_actor_request_id_and_client(callers: dict[str, Caller]) -> None:
    editor, admin = callers["editor"], callers["admin"]
    body = {"title": "Refunds", "text": "Refunds take five days.", "source": "refunds.md"}
    added = editor.post("/v1/documents", json=body, headers={"X-Request-ID": "req-42"})
    assert added.status_code == 201
    document = added.json()["id"]
    record = newest(admin, "document.added")
    assert record["actor"] == f"key:{editor.key_id}" and record["target"] == document
    assert record["request_id"] == "req-42" and record["client"] == "127.0.0.1"
    assert record["summary"]["source"] == "refunds.md" and "five days" not in json.dumps(record)
    assert editor.delete(f"/v1/documents/{document}", headers={"X-Request-ID": "bad id!"}).status_code == 204
    deleted = newest(admin, "document.deleted")
    assert deleted["summary"]["title"] == "Refunds" and deleted["target"] == document
    assert deleted["request_id"] != "bad id!" and len(deleted["request_id"]) == 32  # made by Lore


def test_conversations_jobs_and_backups_are_recorded(callers: dict[str, Caller]) -> None:
    operator, admin = callers["operator"], callers["admin"]
    conversation = operator.post("/v1/conversations", json={"title": "Billing"}).json()["id"]
    assert operator.delete(f"/v1/conversations/{conversation}").status_code == 204
    assert newest(admin, "conversation.deleted")["summary"] == {"title": "Billing", "messages": 0}
    job = operator.post("/v1/ingest", json={"documents": [{"title": "A", "text": "Alpha."}]}).json()["id"]
    queued = newest(admin, "job.ingest_queued")
    assert queued["target"] == job and queued["summary"] == {"documents": 1}
    assert_error(operator.post(f"/v1/jobs/{job}/retry"), 409, "conflict")
    assert records(admin, action="job.retried") == []  # a refused write records nothing
    created = operator.post("/v1/admin/backups")
    assert created.status_code == 201, created.text
    name = created.json()["name"]
    assert newest(admin, "backup.created")["target"] == name
    assert operator.get(f"/v1/admin/backups/{name}").status_code == 200
    downloaded = newest(admin, "backup.downloaded")
    assert downloaded["target"] == name and downloaded["summary"]["bytes"] == created.json()["bytes"]


def test_pages_walk_back_in_time_with_filters_and_refuse_forged_cursors(callers: dict[str, Caller]) -> None:
    editor, admin = callers["editor"], callers["admin"]
    for i in range(5):
        editor.post("/v1/documents", json={"title": f"Page {i}", "text": "Text.", "source": f"page-{i}.md"})
    everything = records(admin)
    seen, cursor = [], None
    while True:
        page = admin.get("/v1/audit", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen.extend(item["seq"] for item in page["items"])
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [item["seq"] for item in everything] == sorted(seen, reverse=True)
    mine = records(admin, actor=f"key:{editor.key_id}", action="document.added")
    assert len(mine) >= 5 and {item["actor"] for item in mine} == {f"key:{editor.key_id}"}
    last_five = sorted(item["at"] for item in mine)[-5:]
    window = records(admin, action="document.added", since=last_five[1], until=last_five[4])
    assert sorted(item["at"] for item in window) == last_five[1:4]
    naive = datetime.fromisoformat(last_five[1]).replace(tzinfo=None).isoformat()  # read as UTC
    assert len(records(admin, action="document.added", since=naive)) == 4
    for where in ("/v1/audit", "/v1/audit/export"):
        assert_error(admin.get(where, params={"actor": "a\x00b"}), 422, "invalid_request")
    for forged in ("garbage!", "W3RydWVd", "eyJzZXEiOjF9", "WyJhIl0"):
        assert_error(admin.get("/v1/audit", params={"cursor": forged}), 422, "invalid_input")


def test_each_tenant_reads_only_its_own_log_and_only_admins_read_it(
    callers: dict[str, Caller], server: LiveServer
) -> None:
    callers["editor"].post("/v1/documents", json={"title": "T", "text": "Text.", "source": "t.md"})
    assert records(callers["acme_admin"]) == []
    assert_error(callers["editor"].get("/v1/audit"), 403, "forbidden")
    assert_error(callers["editor"].get("/v1/audit/export"), 403, "forbidden")
    assert_error(httpx.get(f"{server.url}/v1/audit"), 401, "unauthenticated")


def parse_jsonl(text: str) -> list[AuditRecord]:
    lines = [json.loads(line) for line in text.splitlines()]
    return [AuditRecord(**{**line, "at": datetime.fromisoformat(line["at"])}) for line in lines]


def test_exports_stream_every_record_as_json_lines_that_verify_and_as_csv(callers: dict[str, Caller]) -> None:
    editor, admin = callers["editor"], callers["admin"]
    formula = {"title": "=HYPERLINK(1)", "text": "Text.", "source": "formula.md"}
    editor.post("/v1/documents", json=formula, headers={"X-Request-ID": "=1+1"})
    jsonl = admin.get("/v1/audit/export", params={"format": "jsonl"})
    assert jsonl.status_code == 200 and jsonl.headers["content-type"].startswith("application/jsonl")
    assert (
        jsonl.headers["cache-control"] == "no-store" and "attachment" in jsonl.headers["content-disposition"]
    )
    exported = parse_jsonl(jsonl.text)
    report = check_chain("default", exported)  # the export holds every field the chain is checked by
    assert report.ok and [r.seq for r in exported] == list(range(1, len(exported) + 1))
    table = admin.get("/v1/audit/export", params={"format": "csv", "action": "document.added"})
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert {row["action"] for row in rows} == {"document.added"} and len(rows) >= 1
    (row,) = [row for row in rows if "formula.md" in row["summary"]]
    assert json.loads(row["summary"])["title"] == "=HYPERLINK(1)"  # inside JSON: no spreadsheet runs it
    assert row["request_id"] == "'=1+1"  # a cell that would be a formula is quoted
    assert [r.request_id for r in exported if r.request_id and r.request_id.startswith("=")] == ["=1+1"]
    assert all(not cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())
    assert newest(admin, "audit.exported")["summary"] == {"format": "csv", "action": "document.added"}
    assert_error(admin.get("/v1/audit/export", params={"format": "xml"}), 422, "invalid_request")


def test_a_secret_goes_in_once_and_only_its_masked_form_comes_out(callers: dict[str, Caller]) -> None:
    owner, admin = callers["owner"], callers["admin"]
    assert_error(admin.put("/v1/secrets/openai_api_key", json={"value": SECRET}), 403, "forbidden")
    put = owner.put("/v1/secrets/openai_api_key", json={"value": SECRET})
    assert put.status_code == 200 and put.json()["masked"] == "sk-…6789"
    assert put.json()["name"] == "openai_api_key" and put.json()["failing_since"] is None
    listed = owner.get("/v1/secrets")
    assert [item["name"] for item in listed.json()["items"]] == ["openai_api_key"]
    assert_error(owner.put("/v1/secrets/aws_key", json={"value": SECRET}), 422, "invalid_request")
    assert_error(owner.put("/v1/secrets/openai_api_key", json={"value": ""}), 422, "invalid_request")
    assert_error(owner.put("/v1/secrets/openai_api_key", json={"value": "x" * 5000}), 422, "invalid_request")
    assert_error(
        owner.put("/v1/secrets/openai_api_key", json={"value": "sk-\u0000-abc"}), 422, "invalid_input"
    )
    assert owner.delete("/v1/secrets/openai_api_key").status_code == 204
    assert_error(owner.delete("/v1/secrets/openai_api_key"), 404, "not_found")
    assert [r["action"] for r in records(admin) if r["action"].startswith("secret.")][:2] == [
        "secret.deleted",
        "secret.set",
    ]
    shown = [put.text, listed.text, admin.get("/v1/audit/export").text]
    assert all(SECRET not in text and SECRET[3:-4] not in text for text in shown)


def test_owners_read_and_patch_their_tenant_settings(callers: dict[str, Caller], server: LiveServer) -> None:
    owner, admin = callers["owner"], callers["admin"]
    defaults = owner.get("/v1/tenant/settings").json()
    assert defaults == {
        "allowed_providers": None,
        "require_admin_mfa": False,
        "oidc": None,
        "quotas": {},
        "rate_limits": {},
    }
    patched = owner.patch(
        "/v1/tenant/settings", json={"require_admin_mfa": True, "allowed_providers": ["extractive"]}
    )
    assert patched.status_code == 200 and patched.json()["require_admin_mfa"] is True
    again = owner.patch("/v1/tenant/settings", json={"allowed_providers": None})
    assert again.json() == {**defaults, "require_admin_mfa": True}  # what a patch leaves out stays
    assert owner.patch("/v1/tenant/settings", json={"require_admin_mfa": None}).json() == defaults
    changed = newest(admin, "tenant.settings_changed")
    assert changed["target"] == "default" and changed["actor"] == f"key:{owner.key_id}"
    oidc = {"issuer": "https://idp.example", "client_id": "lore-app", "default_role": "editor"}
    signed_on = owner.patch("/v1/tenant/settings", json={"oidc": oidc}).json()["oidc"]
    assert signed_on == {**oidc, "redirect_uri": None, "create_users": True}
    assert server.lore.store.tenants.require("default").settings["oidc"]["client_id"] == "lore-app"
    assert owner.patch("/v1/tenant/settings", json={"oidc": None}).json() == defaults
    assert changed["summary"] == {
        "before": {"require_admin_mfa": True},
        "after": {"require_admin_mfa": False},
    }


def test_quotas_and_rate_limits_are_the_operators_and_the_limits_apply_them(
    callers: dict[str, Caller], server: LiveServer
) -> None:
    owner, operator = callers["owner"], callers["operator"]
    error = assert_error(
        owner.patch("/v1/tenant/settings", json={"quotas": {"documents": 10**9}}), 403, "forbidden"
    )
    assert error["details"] == {"fields": ["quotas"], "required": "installation"}
    assert_error(owner.patch("/v1/tenant/settings", json={"rate_limits": {"key": None}}), 403, "forbidden")
    try:
        limited = operator.patch(
            "/v1/tenant/settings", json={"quotas": {"documents": 0, "requests_per_day": None}}
        )
        assert limited.json()["quotas"] == {"documents": 0, "requests_per_day": None}
        stored = server.lore.store.tenants.require("default").settings
        assert stored["quotas"] == {"documents": 0, "requests_per_day": None}  # null kept: no limit
        assert "require_admin_mfa" not in stored  # a default is left out, not written
        refused = owner.post("/v1/documents", json={"title": "Q", "text": "Over quota.", "source": "q.md"})
        error = assert_error(refused, 429, "quota_exceeded")
        assert error["details"]["name"] == "documents" and error["details"]["limit"] == 0
        merged = operator.patch("/v1/tenant/settings", json={"quotas": {"documents": 10**6}})
        assert merged.json()["quotas"] == {"documents": 10**6, "requests_per_day": None}  # name by name
        unchanged = owner.patch("/v1/tenant/settings", json={**merged.json(), "require_admin_mfa": False})
        assert unchanged.status_code == 200  # an owner may send the operator's values back as they are
    finally:
        reset = operator.patch("/v1/tenant/settings", json={"quotas": None, "rate_limits": None})
        assert reset.json()["quotas"] == {} and reset.json()["rate_limits"] == {}
    assert (
        owner.post("/v1/documents", json={"title": "Q", "text": "Fine.", "source": "q.md"}).status_code == 201
    )


@pytest.mark.parametrize(
    "patch",
    [
        {"colour": "blue"},
        {"require_admin_mfa": "maybe"},
        {"allowed_providers": []},
        {"allowed_providers": ["oracle"]},
        {"allowed_providers": "openai"},
        {"quotas": {"documents": -1}},
        {"quotas": {"minutes": 1}},
        {"rate_limits": {"key": "lots"}},
        {"rate_limits": {"address": None}},
        {"oidc": {"client_id": "lore-app"}},
        {"oidc": {"issuer": "ftp://idp.example", "client_id": "lore-app"}},
        {"oidc": {"issuer": "https://idp.example", "client_id": "lore-app", "default_role": "king"}},
    ],
)
def test_invalid_settings_are_refused_and_change_nothing(
    callers: dict[str, Caller], patch: dict[str, Any]
) -> None:
    operator = callers["operator"]
    before = operator.get("/v1/tenant/settings").json()
    error = assert_error(operator.patch("/v1/tenant/settings", json=patch), 422, "invalid_input")
    assert error["details"] and error["message"]
    assert operator.get("/v1/tenant/settings").json() == before


def test_only_owners_manage_settings_and_secrets(callers: dict[str, Caller]) -> None:
    admin = callers["admin"]
    assert_error(admin.get("/v1/tenant/settings"), 403, "forbidden")
    assert_error(admin.patch("/v1/tenant/settings", json={"require_admin_mfa": True}), 403, "forbidden")
    assert_error(admin.get("/v1/secrets"), 403, "forbidden")
    assert_error(admin.delete("/v1/secrets/openai_api_key"), 403, "forbidden")
    assert_error(callers["owner"].patch("/v1/tenant/settings", json=[1]), 422, "invalid_request")


def test_keys_and_tenants_are_recorded_without_secrets(
    callers: dict[str, Caller], server: LiveServer
) -> None:
    operator, admin = callers["operator"], callers["admin"]
    created = admin.post("/v1/keys", json={"name": "widget", "scopes": ["search"]}).json()
    rotated = admin.post(f"/v1/keys/{created['id']}/rotate", json={"overlap_hours": 1}).json()
    assert admin.delete(f"/v1/keys/{rotated['id']}").status_code == 200
    recorded = {r["action"]: r for r in records(admin) if r["action"].startswith("key.")}
    assert recorded["key.created"]["summary"]["scopes"] == ["search"]
    assert recorded["key.created"]["actor"] == f"key:{admin.key_id}"
    assert recorded["key.rotated"]["target"] == created["id"]
    assert recorded["key.rotated"]["summary"] == {"replaced_by": rotated["id"], "overlap_hours": 1}
    assert recorded["key.revoked"]["target"] == rotated["id"]
    exported = admin.get("/v1/audit/export").text
    assert created["key"] not in exported and rotated["key"] not in exported
    assert operator.post("/v1/tenants", json={"id": "globex", "name": "Globex"}).status_code == 201
    assert operator.patch("/v1/tenants/globex", json={"disabled": True}).status_code == 200
    log = server.lore.store.audit.page("globex", 10).items
    assert [(r.action, r.actor) for r in log] == [
        ("tenant.disabled", f"key:{operator.key_id}"),
        ("tenant.created", f"key:{operator.key_id}"),
    ]
