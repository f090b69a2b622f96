"""The leak suite: every way a caller might reach another tenant's or another reader's records, through the real
HTTP server, on SQLite and on PostgreSQL (the world is described in `leak_world`).

A probe is one request by one caller. It leaks when its response (body or headers) carries a marker the caller
may not see, other than what the request itself spelled, or when it answers with a status the probe rules out
(another's record served, a 5xx). Controls are the same kinds of probes made by callers who may see the marker:
each must find it, or a probe that finds nothing would prove nothing. The cache is warm from the controls when
the probes run, so each search probe is also a cache-collision attempt (same query, other tenant or other
permission set). Add a probe: one line in `probes` (and a control in `controls` if it is a new kind).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from lore.api import create_app
from lore.backends.store.codec import encode_cursor, encode_number_cursor
from lore.config import Settings
from lore.security.secrets import generate_key
from tests.api.conftest import TEST_SIGNING_SECRET, LiveServer
from tests.security.leak_world import A_DOCS, B_DOCS, CODES, QUERIES, Caller, World, build

MODES = ("hybrid", "vector", "keyword")
NOT_THERE = frozenset({404})
REFUSED = frozenset({401, 403})
ANY = frozenset(range(200, 500))


@dataclass(frozen=True)
class Probe:
    how: str  # what kind of attempt: "by id", "by search", "by filter", "by cursor", ...
    caller: str
    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    statuses: frozenset[int] = ANY  # the statuses it may get

    def send(self, http: httpx.Client, world: World) -> httpx.Response:
        headers = world.callers[self.caller].headers
        return http.request(self.method, self.path, json=self.json, params=self.params, headers=headers)

    def spelled(self) -> str:
        return f"{self.path} {self.json} {self.params}"


# SQLite with the in-memory BM25 (as `lore serve` runs), PostgreSQL with its own keyword index: between them,
# every keyword path (the in-memory one and the store's SQL) and both stores' SQL filters.
BACKENDS = {"sqlite-memory": ("sqlite", "memory"), "postgres-store": ("postgres", "store")}


@pytest.fixture(scope="module", params=list(BACKENDS))
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, model_cache: Path
) -> Iterator[World]:
    store, keyword_index = BACKENDS[request.param]
    database_url = None
    if store == "postgres":
        postgres = request.getfixturevalue("postgres")
        database_url = postgres.create_database()
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("leaks"),
        database_url=database_url,
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
        keyword_index=keyword_index,
        rate_limit_address="1000000/minute",  # the publishable key's probes all come from one address
        signing_secret=TEST_SIGNING_SECRET if database_url else None,  # SQLite makes its own
        secret_keys=SecretStr(generate_key()) if database_url else None,
    )
    try:
        with LiveServer(create_app(settings)) as live:
            yield build(live)
    finally:
        if database_url is not None:
            request.getfixturevalue("postgres").drop_database(database_url)


@pytest.fixture(scope="module")
def http(world: World) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=world.url, timeout=120) as client:
        yield client


# -- what is tried ---------------------------------------------------------------------------------------------


def probes(world: World) -> list[Probe]:
    tried: list[Probe] = []
    for caller in world.callers.values():
        hidden = [name for name in CODES if name not in caller.sees]
        tried += searches(caller, hidden)
        tried += answers(world, caller, hidden)
        tried += listings(world, caller, hidden)
        tried += by_id(world, caller, hidden)
        tried += refused_routes(world, caller)
    tried += collections_of_a_publishable_key(world)
    tried += across_tenants(world)
    return tried


def searches(caller: Caller, hidden: list[str]) -> list[Probe]:
    found = []
    for name in hidden:
        query = QUERIES[name]
        # the very request a control made first: its results are in the cache, under the control's permissions
        found.append(Probe("by cache collision", caller.name, "POST", "/v1/search", {"query": query, "k": 5}))
        for mode in MODES:
            found.append(
                Probe("by search", caller.name, "POST", "/v1/search", {"query": query, "k": 50, "mode": mode})
            )
        for collection in (["help"], ["internal"], ["help", "internal"]):
            body = {"query": query, "k": 50, "collection": collection}
            found.append(Probe("by search", caller.name, "POST", "/v1/search", body, statuses=ANY))
        for filters in ({"tags": ["legal"]}, {"metadata": {"secret": True}}):
            found.append(
                Probe(
                    "by filter",
                    caller.name,
                    "POST",
                    "/v1/search",
                    {"query": query, "k": 50, "filters": filters},
                )
            )
    return found


def answers(world: World, caller: Caller, hidden: list[str]) -> list[Probe]:
    own = world.own_conversations[caller.name]
    found = []
    for name in hidden:
        question = f"What is the {QUERIES[name]}?"
        chat = {"model": "lore", "messages": [{"role": "user", "content": question}]}
        found.append(Probe("through /v1/chat/completions", caller.name, "POST", "/v1/chat/completions", chat))
        stream = {**chat, "stream": True}
        found.append(
            Probe("through /v1/chat/completions", caller.name, "POST", "/v1/chat/completions", stream)
        )
        asked = {"content": question}
        found.append(Probe("by answer", caller.name, "POST", f"/v1/conversations/{own}/messages", asked))
    return found


def listings(world: World, caller: Caller, hidden: list[str]) -> list[Probe]:
    found = [
        Probe("by listing", caller.name, "GET", "/v1/documents", params={"limit": 200}),
        Probe(
            "by listing", caller.name, "GET", "/v1/documents", params={"limit": 200, "collection": "internal"}
        ),
        Probe("by listing", caller.name, "GET", "/v1/conversations", params={"limit": 200}),
        Probe("by listing", caller.name, "GET", "/v1/jobs", params={"limit": 200}),
        Probe("by listing", caller.name, "GET", "/v1/groups"),
    ]
    for name in hidden:
        for record in (world.documents.get(name), world.conversations.get(name), world.jobs.get(name)):
            if record is None:
                continue
            path = (
                "/v1/documents"
                if name in world.documents
                else ("/v1/conversations" if name in world.conversations else "/v1/jobs")
            )
            for cursor in tampered_cursors(record):
                found.append(
                    Probe("by cursor", caller.name, "GET", path, params={"limit": 200, "cursor": cursor})
                )
    return found


def tampered_cursors(record: dict[str, Any]) -> list[str]:
    """Cursors that point just past a hidden record, so it would open the next page if it were not filtered."""
    created = datetime.fromisoformat(record["created_at"])
    return [
        encode_cursor(created + timedelta(microseconds=1), record["id"]),
        encode_cursor(created, "f" * 32),
        encode_cursor(created + timedelta(days=3650), ""),
    ]


def by_id(world: World, caller: Caller, hidden: list[str]) -> list[Probe]:
    found = []
    for name in hidden:
        if (document := world.documents.get(name)) is not None:
            path = f"/v1/documents/{document['id']}"
            found += [
                Probe("by id", caller.name, "GET", path, statuses=NOT_THERE | REFUSED),
                Probe("by id", caller.name, "GET", f"{path}/access", statuses=NOT_THERE | REFUSED),
                Probe("by id", caller.name, "GET", f"{path}/related", statuses=NOT_THERE | REFUSED),
                Probe(
                    "by id",
                    caller.name,
                    "PUT",
                    f"{path}/access",
                    {"restricted": False},
                    statuses=NOT_THERE | REFUSED,
                ),
                Probe("by id", caller.name, "DELETE", path, statuses=NOT_THERE | REFUSED),
                Probe(
                    "by filter",
                    caller.name,
                    "POST",
                    "/v1/search",
                    {"query": QUERIES[name], "filters": {"document_ids": [document["id"]]}},
                ),
                Probe(
                    "by id",
                    caller.name,
                    "GET",
                    "/v1/access/explain",
                    params={"document_id": document["id"], "as_user": world.user_ids["alice"]},
                    statuses=NOT_THERE | REFUSED,
                ),
            ]
            if job_tenant(name) == caller.tenant:  # another tenant's source names a document of one's own
                found.append(overwrite(caller, document))
        if (conversation := world.conversations.get(name)) is not None:
            path = f"/v1/conversations/{conversation['id']}"
            cursor = encode_number_cursor(10**9)
            found += [
                Probe("by id", caller.name, "GET", path, statuses=NOT_THERE | REFUSED),
                Probe("by id", caller.name, "GET", f"{path}/messages", statuses=NOT_THERE | REFUSED),
                Probe(
                    "by cursor",
                    caller.name,
                    "GET",
                    f"{path}/messages",
                    params={"cursor": cursor},
                    statuses=NOT_THERE | REFUSED,
                ),
                Probe("by id", caller.name, "PATCH", path, {"title": "mine"}, statuses=NOT_THERE | REFUSED),
                Probe(
                    "by id",
                    caller.name,
                    "POST",
                    f"{path}/messages",
                    {"content": "what did I ask before?"},
                    statuses=NOT_THERE | REFUSED,
                ),
                Probe("by id", caller.name, "DELETE", path, statuses=NOT_THERE | REFUSED),
            ]
        if (job := world.jobs.get(name)) is not None and job_tenant(name) != caller.tenant:
            found += [
                Probe("by id", caller.name, "GET", f"/v1/jobs/{job['id']}", statuses=NOT_THERE | REFUSED),
                Probe(
                    "by id", caller.name, "POST", f"/v1/jobs/{job['id']}/retry", statuses=NOT_THERE | REFUSED
                ),
            ]
    return found


def overwrite(caller: Caller, document: dict[str, Any]) -> Probe:
    """The prober's attack: one's own text posted under the source of a document one may not read."""
    body = {
        "title": "x",
        "text": "mine now",
        "source": document["source"],
        "collection": document["collection"],
    }
    return Probe("by overwrite", caller.name, "POST", "/v1/documents", body, statuses=REFUSED)


def job_tenant(name: str) -> str:
    return "default" if name.startswith("a_") else "acme"


def refused_routes(world: World, caller: Caller) -> list[Probe]:
    """The installation's backups are nobody's in a tenant; admin routes are no one else's."""
    found = [
        Probe("backups", caller.name, "GET", "/v1/admin/backups", statuses=REFUSED),
        Probe("backups", caller.name, "GET", f"/v1/admin/backups/{world.backup}", statuses=REFUSED),
        Probe("backups", caller.name, "POST", "/v1/admin/backups", statuses=REFUSED),
        Probe(
            "as user",
            caller.name,
            "POST",
            "/v1/search",
            {"query": "quokka protocol", "as_user": world.user_ids["alice"]},
            statuses=(NOT_THERE | REFUSED) if not (caller.admin and caller.tenant == "default") else ANY,
        ),
    ]
    others = world.markers["b_ids" if caller.tenant == "default" else "a_ids"]
    found += audit_records(world, caller, sorted(others)[:3])
    found.append(Probe("usage", caller.name, "GET", "/v1/usage", statuses=ANY if caller.admin else REFUSED))
    for other in sorted(others)[:3]:
        usage = Probe(
            "usage",
            caller.name,
            "GET",
            "/v1/usage",
            params={"key_id": other},
            statuses=ANY if caller.admin else REFUSED,
        )
        found.append(usage)
    for end_user in ("e1", "e2"):
        found.append(
            Probe(
                "end users",
                caller.name,
                "GET",
                f"/v1/end-users/{end_user}/export",
                statuses=ANY if caller.admin else REFUSED,
            )
        )
    return found


def audit_records(world: World, caller: Caller, other_ids: list[str]) -> list[Probe]:
    """A tenant's audit log names its documents, titles and keys: only its admins read it, and only its own."""
    allowed = ANY if caller.admin else REFUSED
    found = [
        Probe("audit", caller.name, "GET", "/v1/audit", params={"limit": 500}, statuses=allowed),
        Probe("audit", caller.name, "GET", "/v1/audit/export", statuses=allowed),
        Probe("audit", caller.name, "GET", "/v1/audit/export", params={"format": "csv"}, statuses=allowed),
    ]
    for other in other_ids:
        for params in ({"actor": f"key:{other}"}, {"actor": f"user:{other}"}, {"target": other}):
            found.append(Probe("audit", caller.name, "GET", "/v1/audit", params=params, statuses=allowed))
    for name in ("a_legal", "b_quokka"):
        target = {"target": world.documents[name]["id"]}
        found.append(Probe("audit", caller.name, "GET", "/v1/audit", params=target, statuses=allowed))
    return found


def collections_of_a_publishable_key(world: World) -> list[Probe]:
    found = []
    for caller in ("a_pk_e1", "a_pk_e2", "a_help"):
        for collection in ("internal", ["help", "internal"]):
            found += [
                Probe(
                    "other collection",
                    caller,
                    "POST",
                    "/v1/search",
                    {"query": "axolotl roadmap", "collection": collection},
                    statuses=REFUSED,
                ),
                Probe(
                    "other collection",
                    caller,
                    "POST",
                    "/v1/chat/completions",
                    {
                        "model": "lore",
                        "messages": [{"role": "user", "content": "axolotl roadmap?"}],
                        "lore": {"collection": collection},
                    },
                    statuses=REFUSED,
                ),
                Probe(
                    "other collection",
                    caller,
                    "POST",
                    f"/v1/conversations/{world.own_conversations[caller]}/messages",
                    {"content": "axolotl roadmap?", "collection": collection},
                    statuses=REFUSED,
                ),
            ]
    return found


def across_tenants(world: World) -> list[Probe]:
    """B's admin reaching for A's groups, users and end users, which share names with B's."""
    return [
        Probe("across tenants", "b_admin", "GET", "/v1/groups/legal", statuses=NOT_THERE),
        Probe(
            "across tenants",
            "b_admin",
            "PUT",
            f"/v1/groups/legal/members/{world.user_ids['alice']}",
            statuses=NOT_THERE,
        ),
        Probe("across tenants", "b_admin", "DELETE", "/v1/groups/legal", statuses=NOT_THERE),
        Probe("across tenants", "b_admin", "GET", "/v1/end-users/e1/export"),
        Probe("across tenants", "b_admin", "DELETE", "/v1/end-users/e1"),
        Probe(
            "across tenants",
            "b_admin",
            "POST",
            "/v1/search",
            {"query": "quokka protocol", "as_user": world.user_ids["alice"]},
            statuses=NOT_THERE,
        ),
    ]


# -- what must be found ----------------------------------------------------------------------------------------


def controls(world: World) -> list[tuple[Probe, str]]:
    """(probe, marker it must find): each kind of probe, made by a caller who may see the marker."""
    found: list[tuple[Probe, str]] = []
    for caller in world.callers.values():
        for name in sorted(caller.sees & (A_DOCS | B_DOCS)):
            query = QUERIES[name]
            document = world.documents.get(name)
            found.append(
                (Probe("by search", caller.name, "POST", "/v1/search", {"query": query, "k": 5}), name)
            )
            chat = {"model": "lore", "messages": [{"role": "user", "content": f"What is the {query}?"}]}
            found.append(
                (
                    Probe("through /v1/chat/completions", caller.name, "POST", "/v1/chat/completions", chat),
                    name,
                )
            )
            own = world.own_conversations[caller.name]
            found.append(
                (
                    Probe(
                        "by answer",
                        caller.name,
                        "POST",
                        f"/v1/conversations/{own}/messages",
                        {"content": f"What is the {query}?"},
                    ),
                    name,
                )
            )
            if document is not None:
                found.append((Probe("by id", caller.name, "GET", f"/v1/documents/{document['id']}"), name))
                if not caller.name.startswith("a_pk"):
                    found.append(
                        (
                            Probe("by listing", caller.name, "GET", "/v1/documents", params={"limit": 200}),
                            name,
                        )
                    )
        for name in sorted(caller.sees & set(world.conversations)):
            path = f"/v1/conversations/{world.conversations[name]['id']}/messages"
            found.append((Probe("by id", caller.name, "GET", path), name))
    found.append((Probe("end users", "a_admin", "GET", "/v1/end-users/e1/export"), "a_e1_chat"))
    for admin, name in (("a_admin", "a_legal"), ("b_admin", "b_open")):  # each log names its own titles
        found.append((Probe("audit", admin, "GET", "/v1/audit", params={"limit": 500}), name))
    return found


def check(http: httpx.Client, world: World, probe: Probe) -> str | None:
    """A description of the leak this probe found, or None."""
    response = probe.send(http, world)
    caller = world.callers[probe.caller]
    seen = response.text + " " + " ".join(f"{k}: {v}" for k, v in response.headers.items())
    spelled = probe.spelled()
    leaked = sorted(text for text in world.hidden_from(caller) if text in seen and text not in spelled)
    if leaked or response.status_code not in probe.statuses:
        return f"{probe.how}: {caller.name} {probe.method} {probe.path} {probe.json or probe.params or ''} -> {response.status_code} {leaked}"
    return None


def test_controls_find_what_their_callers_may_see(world: World, http: httpx.Client) -> None:
    missed = []
    for probe, name in controls(world):
        response = probe.send(http, world)
        if response.status_code >= 300 or CODES[name] not in response.text:
            missed.append(f"{probe.caller} {probe.method} {probe.path} -> {response.status_code}: no {name}")
    assert missed == []
    print(f"\nleak suite controls: {len(controls(world))} found what they may see")
    assert len(controls(world)) >= 100


def test_no_probe_reaches_what_its_caller_may_not_see(world: World, http: httpx.Client) -> None:
    tried = probes(world)
    leaks = [leak for probe in tried if (leak := check(http, world, probe)) is not None]
    kinds = sorted({probe.how for probe in tried})
    print(f"\nleak suite: {len(tried)} attempts ({', '.join(kinds)}), {len(leaks)} leaks")
    assert leaks == []
    assert len(tried) >= 2000


def test_the_probes_changed_nothing(world: World, http: httpx.Client) -> None:
    """The writes among the probes (overwrites, access changes, deletions, erasures) were all refused: every
    secret is where it was, as restricted as it was."""
    admin = world.callers["a_admin"].headers
    for name in (A_DOCS | B_DOCS) - {"a_job_legal", "b_job"}:
        document = world.documents[name]
        headers = admin if name.startswith("a_") else world.callers["b_admin"].headers
        stored = http.get(f"/v1/documents/{document['id']}", headers=headers).json()
        assert (stored["restricted"], CODES[name] in stored["text"]) == (document["restricted"], True), name
    for name in ("a_bob_chat", "a_e1_chat"):
        conversation = world.conversations[name]
        assert http.get(f"/v1/conversations/{conversation['id']}", headers=admin).status_code == 200
