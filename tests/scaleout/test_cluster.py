"""Scale-out end to end: two `lore serve` replicas and two `lore worker` processes over PostgreSQL and Redis.

A corpus is ingested through both replicas in batches; one worker is killed with SIGKILL while it is in the middle
of a batch. Its job is reaped when its lease runs out and finished by the other worker. Afterwards every document
is stored and indexed exactly once, every job has succeeded, and both replicas answer every search alike.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa

from lore.backends.store.database import Database
from lore.config import Settings
from lore.registry import create_store, create_vector_index
from lore.security.secrets import generate_key
from tests.api.conftest import TEST_SIGNING_SECRET
from tests.keys import bearer, operator_key
from tests.pgserver import free_port
from tests.waiting import wait_for

REDIS = "redis://127.0.0.1:6379/15"
BATCHES, PER_BATCH = 5, 8
SEARCHED = range(0, BATCHES * PER_BATCH, 3)  # a sample: the store check below covers every document
LEASE_SECONDS = 2.0
WORDS = [
    "refund",
    "invoice",
    "password",
    "parcel",
    "account",
    "billing",
    "shipping",
    "security",
    "login",
    "receipt",
    "order",
    "support",
]


def code(n: int) -> str:
    """A made-up word unique to document `n`, so a keyword search finds exactly that document."""
    return "zq" + "".join(chr(ord("a") + (n // 26**i) % 26) for i in range(3))


def document(n: int) -> dict[str, Any]:
    paragraphs = [
        f"Section {p} about the {WORDS[(n + p) % len(WORDS)]} process of {code(n)}. "
        + " ".join(
            f"Step {s}: check the {WORDS[(n * p + s) % len(WORDS)]} settings and confirm." for s in range(3)
        )
        for p in range(3)
    ]
    return {"title": f"Guide {code(n)}", "text": "\n\n".join(paragraphs), "source": f"corpus:{n}"}


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    servers: list[tuple[subprocess.Popen[bytes], str]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def _start(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        log = self.root / f"{name}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "lore", *args],
                env={**self.env, "LORE_DATA_DIR": str(self.root / name), **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def start(self) -> None:
        for i in range(2):
            port = free_port()
            process = self._start(f"serve{i}", ["serve", "--port", str(port)], LORE_WORKER_THREADS="0")
            self.servers.append((process, f"http://127.0.0.1:{port}"))
        self.workers = [self._start(f"worker{i}", ["worker"]) for i in range(2)]
        for i in range(2):
            wait_for(lambda i=i: "Huey consumer started" in self.log(f"worker{i}"), f"worker {i}")
        for _, url in self.servers:
            wait_for(lambda url=url: _ready(url), f"replica {url}", poll=0.25)

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        processes = [p for p, _ in self.servers] + self.workers
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def queue_url() -> Iterator[str]:
    name = f"lore_cluster_{uuid.uuid4().hex}"
    yield f"{REDIS}?queue={name}"
    client = redis.Redis.from_url(REDIS)
    try:
        if keys := list(client.scan_iter(match=f"huey.*{name}*")):
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, queue_url: str, model_cache: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "local",
        database_url=database_url,
        queue_url=queue_url,
        model_cache_dir=model_cache,
        job_lease_seconds=LEASE_SECONDS,
        embed_threads=1,
        parse_workers=1,
    )


@pytest.fixture
def cluster(tmp_path: Path, settings: Settings) -> Iterator[Cluster]:
    from lore.registry import create_embedder

    create_embedder(settings)  # derive the int8 model once, before four processes want it
    env = {
        **os.environ,
        "LORE_DATABASE_URL": str(settings.storage.database_url),
        "LORE_SIGNING_SECRET": TEST_SIGNING_SECRET,  # the replicas share it
        "LORE_SECRET_KEYS": generate_key(),  # a PostgreSQL store's servers refuse to start without keys
        "LORE_QUEUE_URL": str(settings.jobs.queue_url),
        "LORE_MODEL_CACHE_DIR": str(settings.embedding.model_cache_dir),
        "LORE_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "LORE_EMBED_THREADS": "1",
        "LORE_PARSE_WORKERS": "1",
    }
    instance = Cluster(tmp_path, env)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


def test_a_worker_killed_mid_ingestion_loses_nothing_and_duplicates_nothing(
    cluster: Cluster, settings: Settings
) -> None:
    auth = bearer(operator_key(settings))
    clients = [httpx.Client(base_url=url, timeout=30, headers=auth) for _, url in cluster.servers]
    try:
        job_ids = _submit_corpus(clients)
        victim = _kill_a_worker_mid_batch(cluster, clients[0], job_ids)
        jobs = wait_for(lambda: _all_succeeded(clients[1], job_ids), "every job to succeed", poll=0.25)
        assert cluster.workers[victim].poll() == -signal.SIGKILL
        assert max(job["attempts"] for job in jobs) >= 2  # the killed batch was run again
        _assert_searches_agree(clients)
    finally:
        for client in clients:
            client.close()
    _assert_stored_and_indexed_exactly_once(settings)


def _submit_corpus(clients: list[httpx.Client]) -> list[str]:
    ids = []
    for batch in range(BATCHES):
        documents = [document(batch * PER_BATCH + i) for i in range(PER_BATCH)]
        response = clients[batch % 2].post("/v1/ingest", json={"documents": documents})
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    return ids


def _kill_a_worker_mid_batch(cluster: Cluster, client: httpx.Client, job_ids: list[str]) -> int:
    """SIGKILL the worker holding a batch that is part-way done; the index of the killed worker."""
    pids = {str(process.pid): i for i, process in enumerate(cluster.workers)}

    def running_batch() -> tuple[str, int] | None:
        for job in client.get("/v1/jobs", params={"state": "running"}).json()["items"]:
            pid = (job["worker"] or "::").split(":")[1]
            if 0 < job["progress"]["done"] < job["progress"]["total"] - 2 and pid in pids:
                return job["id"], pids[pid]
        return None

    job_id, victim = wait_for(running_batch, "a batch part-way done", poll=0.02)
    os.kill(cluster.workers[victim].pid, signal.SIGKILL)
    cluster.workers[victim].wait(timeout=10)
    assert job_id in job_ids
    return victim


def _all_succeeded(client: httpx.Client, job_ids: list[str]) -> list[dict[str, Any]] | None:
    responses = [client.get(f"/v1/jobs/{job_id}") for job_id in job_ids]
    assert all(response.status_code == 200 for response in responses), [r.text for r in responses]
    jobs = [response.json() for response in responses]
    failed = [job for job in jobs if job["state"] == "failed"]
    assert not failed, failed
    return jobs if all(job["state"] == "succeeded" for job in jobs) else None


def _assert_searches_agree(clients: list[httpx.Client]) -> None:
    for n in SEARCHED:
        answers = []
        for client in clients:
            body = {"query": f"{code(n)} settings", "k": 5, "mode": "hybrid"}
            response = client.post("/v1/search", json=body)
            assert response.status_code == 200, response.text
            answers.append([(hit["chunk_id"], round(hit["score"], 5)) for hit in response.json()["hits"]])
            assert response.json()["hits"][0]["source"] == f"corpus:{n}"
        assert answers[0] == answers[1]


def _assert_stored_and_indexed_exactly_once(settings: Settings) -> None:
    store = create_store(settings)
    index = create_vector_index(settings)
    try:
        documents = _documents(store)
        assert sorted(documents) == sorted(f"corpus:{n}" for n in range(BATCHES * PER_BATCH))
        chunks = _chunks(store)
        for source, (document_id, chunk_count) in documents.items():
            positions = sorted(position for doc, position, _ in chunks if doc == document_id)
            assert positions == list(range(chunk_count)), source  # none missing, none twice
        (partition,) = store.vectors.partitions()
        chunk_ids = sorted(chunk_id for _, _, chunk_id in chunks)
        ids, _ = index.vectors([partition], chunk_ids)
        assert sorted(ids.tolist()) == chunk_ids
        assert index.count(partition) == len(chunk_ids)  # and nothing stale beside them
    finally:
        getattr(index, "close", lambda: None)()
        store.close()


def _documents(store: Database) -> dict[str, tuple[str, int]]:
    page = store.documents.list_documents("default", None, 1000, None)
    assert page.next_cursor is None
    return {doc.source: (doc.id, doc.chunk_count) for doc in page.items}


def _chunks(store: Database) -> list[tuple[str, int, int]]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT document_id, position, id FROM chunks"))
        return [(str(doc), int(position), int(chunk_id)) for doc, position, chunk_id in rows]
