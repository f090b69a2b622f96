"""The world the leak suite probes, built through a real server: two tenants, users (signed in with their
passwords) and keys of several roles, groups and collections, documents open and restricted, conversations,
jobs and a backup.

Every secret carries a marker: a code word no query, title or path of a probe ever spells, plus the ids of the
records that hold it. `World.sees` says which markers each caller may receive; every other marker in a response
is a leak.

    tenant default (A)                                   tenant acme (B)
    users  root (admin), alice (editor, legal),          user   zed (viewer)
           (signed in with passwords)
           bob (viewer), carol (viewer, support)
    keys   admin, viewer, legal (groups legal),          keys   admin, viewer, editor,
           help (collection help), editor,                      legal (groups legal: B's, not A's)
           publishable (help; end users e1, e2)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx

from lore.backends.store.database import Database
from lore.models import DEFAULT_TENANT
from lore.security.scopes import PUBLISHABLE_SCOPES, ROLE_SCOPES, Scope
from tests.api.conftest import LiveServer
from tests.keys import bearer, mint_key
from tests.waiting import wait_for

A, B = DEFAULT_TENANT, "acme"
PASSWORD = "leak suite password"

# marker name -> the code word its texts carry (the records' ids join its strings once they exist)
CODES = {
    "a_legal": "QKP-4417",  # A, help, restricted to group legal, written by alice
    "a_alice": "NWL-9902",  # A, help, restricted to user alice, written by the admin key
    "a_nobody": "PLT-6610",  # A, help, restricted with no grants, written by the editor key
    "a_internal": "AXL-3308",  # A, collection internal, open to the tenant
    "a_job_legal": "IBS-4040",  # A, help, restricted to legal, written by the editor key's ingest job
    "a_bob_chat": "WMB-7707",  # A, bob's conversation
    "a_e1_chat": "OKP-3030",  # A, the publishable key's conversation for end user e1
    "b_open": "PNG-2205",  # B, open
    "b_quokka": "QKB-1180",  # B, open, about A's secret topic, under A's secret's source
    "b_job": "KDU-5050",  # B, written by B's editor key's ingest job
    "b_zed_chat": "TPR-8808",  # B, zed's conversation
}
QUERIES = {  # what a prober asks to find each secret (never its code word)
    "a_legal": "quokka protocol launch",
    "a_alice": "narwhal salaries",
    "a_nobody": "platypus draft",
    "a_internal": "axolotl roadmap",
    "a_job_legal": "ibis memo",
    "a_bob_chat": "wombat budget",
    "a_e1_chat": "okapi order",
    "b_open": "pangolin pricing",
    "b_quokka": "quokka protocol launch",
    "b_job": "kudu notes",
    "b_zed_chat": "tapir ticket",
}
A_DOCS = {"a_legal", "a_alice", "a_nobody", "a_internal", "a_job_legal"}
A_EVERYTHING = {name for name in CODES if name.startswith("a_")} | {"a_ids"}
B_EVERYTHING = {name for name in CODES if name.startswith("b_")} | {"b_ids"}
B_DOCS = {"b_open", "b_quokka", "b_job"}


@dataclass
class Caller:
    name: str
    tenant: str
    headers: dict[str, str]
    sees: set[str]  # marker names it may receive
    admin: bool = False


@dataclass
class World:
    url: str
    callers: dict[str, Caller] = field(default_factory=dict)
    markers: dict[str, set[str]] = field(default_factory=dict)  # name -> code word and record ids
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # marker -> the document as returned
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    own_conversations: dict[str, str] = field(default_factory=dict)  # caller -> a conversation of its own
    user_ids: dict[str, str] = field(default_factory=dict)  # user name -> id
    backup: str = ""
    installation: dict[str, str] = field(default_factory=dict)

    def hidden_from(self, caller: Caller) -> set[str]:
        return {text for name, texts in self.markers.items() if name not in caller.sees for text in texts}

    def visible_to(self, caller: Caller, name: str) -> set[str]:
        assert name in caller.sees, f"{caller.name} may not see {name}"
        return self.markers[name]

    def mark(self, name: str, *ids: str) -> None:
        self.markers.setdefault(name, {CODES[name]} if name in CODES else set()).update(ids)


class People:
    """The tenants' users, made through `POST /v1/users` and signed in through `POST /v1/auth/login`."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.ids: dict[str, str] = {}  # name -> user id

    def add(self, tenant: str, name: str, role: str, by: dict[str, str]) -> dict[str, str]:
        email = f"{name}@{tenant}.example"
        body = {"email": email, "role": role, "password": PASSWORD}
        self.ids[name] = ok(self.http.post("/v1/users", json=body, headers=by))["id"]
        login = {"tenant": tenant, "email": email, "password": PASSWORD}
        return bearer(ok(self.http.post("/v1/auth/login", json=login))["access_token"])


def build(server: LiveServer) -> World:
    db = server.lore.store
    world = World(server.url)
    world.installation = bearer(mint_key(db, scopes=frozenset({Scope.INSTALLATION})))
    with httpx.Client(base_url=server.url, timeout=120) as http:
        ok(http.post("/v1/tenants", json={"id": B}, headers=world.installation))
        _people(db, world, People(http))
        _documents(server, world, http)
        _conversations(world, http)
        _jobs(world, http)
        world.backup = ok(http.post("/v1/admin/backups", headers=world.installation))["name"]
    return world


def _people(db: Database, world: World, people: People) -> None:
    owner_a = bearer(mint_key(db, scopes=ROLE_SCOPES["owner"]))
    owner_b = bearer(mint_key(db, tenant=B, scopes=ROLE_SCOPES["owner"]))
    signed_in = {
        name: people.add(tenant, name, role, owner_a if tenant == A else owner_b)
        for tenant, name, role in [
            (A, "root", "admin"),
            (A, "alice", "editor"),
            (A, "bob", "viewer"),
            (A, "carol", "viewer"),
            (B, "zed", "viewer"),
        ]
    }
    world.user_ids = people.ids
    admin_a = bearer(mint_key(db, scopes=ROLE_SCOPES["admin"]))
    http = people.http
    for group, member in [("legal", "alice"), ("support", "carol")]:
        ok(http.post("/v1/groups", json={"name": group}, headers=admin_a))
        ok(http.put(f"/v1/groups/{group}/members/{people.ids[member]}", headers=admin_a))
    viewer, editor, publishable = ROLE_SCOPES["viewer"], ROLE_SCOPES["editor"], PUBLISHABLE_SCOPES
    help_only = frozenset({"help"})
    a_docs_open = {"a_internal", "a_ids"}
    callers = [
        Caller("a_admin", A, admin_a, set(A_EVERYTHING), admin=True),
        Caller("a_root", A, signed_in["root"], set(A_EVERYTHING), admin=True),
        Caller("a_alice", A, signed_in["alice"], {"a_legal", "a_alice", "a_job_legal"} | a_docs_open),
        Caller("a_bob", A, signed_in["bob"], {"a_bob_chat"} | a_docs_open),
        Caller("a_carol", A, signed_in["carol"], set(a_docs_open)),
        Caller("a_viewer", A, bearer(mint_key(db, scopes=viewer)), set(a_docs_open)),
        Caller("a_legal", A, _key(db, viewer, groups={"legal"}), {"a_legal", "a_job_legal"} | a_docs_open),
        Caller("a_help", A, _key(db, viewer, collections=help_only), {"a_ids"}),
        Caller("a_editor", A, _key(db, editor), {"a_nobody", "a_job_legal"} | a_docs_open),
        Caller("b_admin", B, _key(db, ROLE_SCOPES["admin"], tenant=B), set(B_EVERYTHING), admin=True),
        Caller("b_viewer", B, _key(db, viewer, tenant=B), B_DOCS | {"b_ids"}),
        Caller("b_editor", B, _key(db, editor, tenant=B), B_DOCS | {"b_ids"}),
        Caller("b_legal", B, _key(db, viewer, tenant=B, groups={"legal"}), B_DOCS | {"b_ids"}),
        Caller("b_zed", B, signed_in["zed"], {"b_zed_chat", "b_ids"} | B_DOCS),
    ]
    pk = mint_key(db, scopes=publishable, kind="publishable", collections=help_only)
    for end_user, sees in [("e1", {"a_e1_chat", "a_ids"}), ("e2", {"a_ids"})]:
        headers = {**bearer(pk), "X-Lore-End-User": end_user}
        callers.append(Caller(f"a_pk_{end_user}", A, headers, sees))
    world.callers = {caller.name: caller for caller in callers}
    # not the installation key's: it is the operator's, and each tenant's log names it for what it did there
    world.mark("a_ids", key_id(owner_a))
    world.mark("b_ids", key_id(owner_b))
    for caller in callers:
        if key_id(caller.headers):
            world.mark("a_ids" if caller.tenant == A else "b_ids", key_id(caller.headers))
    for name, user_id in people.ids.items():
        world.mark("b_ids" if name == "zed" else "a_ids", user_id)


def key_id(headers: dict[str, str]) -> str:
    """The public id of the API key in `headers` ("" for a user's token)."""
    token = headers["Authorization"].removeprefix("Bearer ")
    return token.split("_")[2] if token.startswith("lore_") else ""


def _key(db: Database, scopes: frozenset[Scope], tenant: str = A, **spec: Any) -> dict[str, str]:
    for name in ("groups", "collections"):
        if name in spec:
            spec[name] = frozenset(spec[name])
    return bearer(mint_key(db, tenant=tenant, scopes=scopes, **spec))


def _document(
    world: World, http: httpx.Client, name: str, caller: str, body: dict[str, Any]
) -> dict[str, Any]:
    code, topic = CODES[name], QUERIES[name]
    text = f"# {topic.title()} {code}\n\nThe {topic} is filed under {code}. Keep {code} to yourself."
    document = ok(
        http.post(
            "/v1/documents",
            json={"title": f"{topic.title()} {code}", "text": text, **body},
            headers=world.callers[caller].headers,
        )
    )
    world.documents[name] = document
    world.mark(name, document["id"])
    return document


def _documents(server: LiveServer, world: World, http: httpx.Client) -> None:
    """Open documents all callers of a tenant share, the operator's ingested one, and the secrets."""
    lore = server.lore
    for title, text in [
        ("Refund policy", "Refunds reach your card within five business days of the return."),
        ("Launch checklist", "Every launch follows the protocol in the release handbook."),
        ("Salaries and payroll", "Payroll runs on the last working day of each month."),
    ]:
        for tenant in (A, B):
            lore.add_text(
                title=title, text=text, source=f"/srv/help/{title}.md", tenant_id=tenant, collection="help"
            )
    legal = {"collection": "help", "tags": ["legal"], "metadata": {"secret": True}}
    _document(
        world,
        http,
        "a_legal",
        "a_alice",
        {**legal, "source": "policies/quokka.md", "access": {"groups": ["legal"]}},
    )
    alice_only = {"access": {"users": [world.user_ids["alice"]]}}
    _document(world, http, "a_alice", "a_admin", {**legal, **alice_only})
    _document(world, http, "a_nobody", "a_editor", {**legal, "access": {"restricted": True}})
    _document(world, http, "a_internal", "a_admin", {"collection": "internal"})
    _document(
        world, http, "a_legal", "a_alice", {**legal, "source": "policies/quokka.md"}
    )  # rewrite keeps access
    _document(world, http, "b_open", "b_editor", {"collection": "help"})
    _document(world, http, "b_quokka", "b_editor", {"collection": "help", "source": "policies/quokka.md"})


def _conversations(world: World, http: httpx.Client) -> None:
    for name, caller in [("a_bob_chat", "a_bob"), ("a_e1_chat", "a_pk_e1"), ("b_zed_chat", "b_zed")]:
        headers = world.callers[caller].headers
        code = CODES[name]
        created = ok(http.post("/v1/conversations", json={"title": f"Ticket {code}"}, headers=headers))
        asked = f"About {QUERIES[name]}: my reference is {code}."
        ok(http.post(f"/v1/conversations/{created['id']}/messages", json={"content": asked}, headers=headers))
        world.conversations[name] = created
        world.mark(name, created["id"])
    for caller in world.callers.values():  # one conversation of its own each, to ask the probes' questions
        created = ok(http.post("/v1/conversations", json={}, headers=caller.headers))
        world.own_conversations[caller.name] = created["id"]


def _jobs(world: World, http: httpx.Client) -> None:
    for name, caller, extra in [
        ("a_job_legal", "a_editor", {"access": {"groups": ["legal"]}}),
        ("b_job", "b_editor", {}),
    ]:
        code, topic = CODES[name], QUERIES[name]
        document = {
            "title": f"{topic.title()} {code}",
            "text": f"The {topic} says {code}.",
            "collection": "help",
        }
        headers = world.callers[caller].headers
        job = ok(http.post("/v1/ingest", json={"documents": [{**document, **extra}]}, headers=headers))
        done = wait_for(partial(finished, http, job["id"], headers), f"ingest job {job['id']}")
        assert done["state"] == "succeeded", done
        world.jobs[name] = done
        world.mark(name, job["id"], *done["result"]["document_ids"])


def finished(http: httpx.Client, job_id: str, headers: dict[str, str]) -> dict[str, Any] | None:
    job: dict[str, Any] = ok(http.get(f"/v1/jobs/{job_id}", headers=headers))
    return job if job["state"] in ("succeeded", "failed") else None


def ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()
