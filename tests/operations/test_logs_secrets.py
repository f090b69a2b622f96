"""No secret and no document text in the logs at INFO: a realistic session against a real server (a key
created, a document uploaded and ingested, searched and asked about, a user signing in with a password, a
provider refusing the server's key) with every logger captured as `lore serve` writes it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.answers.servers import Reply, Script
from tests.api.conftest import LiveServer
from tests.keys import bearer, mint_key
from tests.operations.conftest import MODEL_KEY, capturing

SENTENCE = "The quartz heron migrates over Lake Vindemia every ninth winter."
QUESTION = "Where does the quartz heron migrate every ninth winter?"
SEARCH = "quartz heron Vindemia migration"
JOB_TEXT = "Saffron lanterns glow beneath the Obsidian causeway at dusk."
PASSWORD = "correct horse battery staple 42"
WRONG_PASSWORD = "wrong horse battery staple 17"


@pytest.fixture(scope="module")
def operator(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=bearer(mint_key(server.lore.store)), timeout=60) as client:
        yield client


def test_a_session_logs_neither_secrets_nor_document_text(
    server: LiveServer, operator: httpx.Client, script: Script
) -> None:
    with capturing() as logs:
        created = operator.post("/v1/keys", json={"name": "app", "scopes": ["documents:write", "search"]})
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        secrets, texts = flow(server, operator, key, script)
    # what the lines do say: the key's requests under its id, the job's lines, the failed login
    assert len(logs.lines(logger="lore.access", principal_id=created.json()["id"])) == 3
    assert logs.lines(logger="lore.jobs") and logs.lines(
        logger="lore.access", path="/v1/auth/login", status=401
    )
    for secret in [key, operator.headers["authorization"][7:], MODEL_KEY, *secrets]:
        assert secret not in logs.text
    for text in [SENTENCE, QUESTION, SEARCH, JOB_TEXT, *texts]:
        for fragment in (text, text[:24], text[-24:]):
            assert fragment not in logs.text, fragment


def flow(server: LiveServer, operator: httpx.Client, key: str, script: Script) -> tuple[list[str], list[str]]:
    """Each step as a user would take it; the secrets and texts it made besides the module's."""
    app = httpx.Client(base_url=server.url, headers=bearer(key), timeout=60)
    with app:
        added = app.post("/v1/documents", json={"title": "Herons", "text": SENTENCE, "source": "herons.md"})
        assert added.status_code == 201, added.text
        upload = {"file": ("lanterns.txt", JOB_TEXT.encode(), "text/plain")}
        assert app.post("/v1/documents", files=upload).status_code == 201
        job = operator.post(
            "/v1/ingest", json={"documents": [{"title": "Causeway", "text": JOB_TEXT}]}
        ).json()
        operator.get(f"/v1/jobs/{job['id']}")
        hits = app.post("/v1/search", json={"query": SEARCH}).json()["hits"]
        assert hits and "quartz heron" in hits[0]["snippet"].lower()
    conversation = operator.post("/v1/conversations").json()["id"]
    asked = operator.post(f"/v1/conversations/{conversation}/messages", json={"content": QUESTION})
    assert asked.status_code == 201, asked.text
    script.then(Reply(status=401))  # the provider refuses the server's key, and quotes it back
    refused = operator.post(f"/v1/conversations/{conversation}/messages", json={"content": QUESTION})
    assert refused.status_code == 502
    email = f"reader-{uuid.uuid4().hex[:8]}@example.org"
    assert operator.post("/v1/users", json={"email": email, "password": PASSWORD}).status_code == 201
    wrong = httpx.post(f"{server.url}/v1/auth/login", json={"email": email, "password": WRONG_PASSWORD})
    assert wrong.status_code == 401
    tokens = httpx.post(f"{server.url}/v1/auth/login", json={"email": email, "password": PASSWORD}).json()
    assert httpx.get(f"{server.url}/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    refreshed = httpx.post(f"{server.url}/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    secrets = [PASSWORD, WRONG_PASSWORD, tokens["access_token"], tokens["refresh_token"]]
    return [*secrets, refreshed.json()["access_token"]], [asked.json()["content"]]
