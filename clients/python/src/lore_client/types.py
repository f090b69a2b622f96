"""The API's main objects as TypedDicts, as the wire sends them (times are ISO 8601 strings). Objects that a
route returns and no type here names are `JSONObject`s."""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

JSONObject = dict[str, Any]
# For namespaces, whose `list` method hides the builtin in their class bodies:
Strings = list[str]
JSONObjects = list[JSONObject]


class Document(TypedDict):
    id: str
    collection: str
    title: str
    source: str
    tags: list[str]
    metadata: JSONObject
    chunk_count: int
    content_hash: str
    created_at: str
    updated_at: str
    owner: str | None
    restricted: bool


class DocumentDetail(Document):
    """A document with its text."""

    text: str


class DocumentAdded(Document):
    """A document just written: `unchanged` when the upload equals what its source held."""

    unchanged: NotRequired[bool]


class Access(TypedDict):
    document_id: str
    restricted: bool
    groups: list[str]
    users: list[str]


class Collection(TypedDict):
    name: str
    document_count: int
    chunk_count: int
    created_at: str | None
    model: str | None
    pending_model: str | None


class CollectionDeleted(TypedDict):
    name: str
    deleted_documents: int


class Hit(TypedDict):
    rank: int
    chunk_id: int
    document_id: str
    collection: str
    title: str
    source: str
    heading_path: list[str]
    snippet: str
    highlights: list[list[int]]
    text: str
    score: float
    relevance: float | None
    scores: JSONObject
    tags: list[str]
    metadata: JSONObject


class SearchResult(TypedDict):
    search_id: str
    query: str
    mode: Literal["hybrid", "vector", "keyword"]
    took_ms: float
    hits: list[Hit]


class Conversation(TypedDict):
    id: str
    title: str | None
    metadata: JSONObject
    message_count: int
    created_at: str
    updated_at: str
    owner: str | None
    end_user: str | None


class Message(TypedDict):
    id: int
    conversation_id: str
    role: str
    content: str
    citations: list[Citation]
    usage: AnswerUsage | None
    metadata: JSONObject
    created_at: str


class Citation(TypedDict):
    marker: int
    chunk_id: int
    document_id: str
    title: str
    heading_path: list[str]
    source: str
    text: str


class AnswerUsage(TypedDict):
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    first_token_ms: float | None


class Key(TypedDict):
    """A stored key: its public id and permissions, never its secret or hash."""

    id: str
    kind: Literal["secret", "publishable"]
    name: str
    state: Literal["active", "rotating", "expired", "revoked"]
    scopes: list[str]
    collections: list[str] | None
    groups: list[str]
    allowed_origins: list[str] | None
    rate_limit: str | None
    created_by: str
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    replaced_by: str | None
    rotating_until: str | None


class KeyCreated(Key):
    """A new key: `key` is its secret, shown this once."""

    key: str


class Job(TypedDict):
    id: str
    kind: str
    state: Literal["queued", "running", "succeeded", "failed"]
    progress: JobProgress
    attempts: int
    max_attempts: int
    error: JobError | None
    result: JSONObject | None
    worker: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    updated_at: str


class JobProgress(TypedDict):
    done: int
    total: int


class JobError(TypedDict):
    code: str
    message: str
    attempt: int


class User(TypedDict):
    id: str
    tenant: str
    email: str
    role: Literal["owner", "admin", "editor", "viewer"]
    mfa_enabled: bool
    single_sign_on: bool
    has_password: bool
    disabled: bool
    locked_until: str | None
    created_at: str
    updated_at: str


class Me(User):
    """The signed-in caller, with what it may do."""

    scopes: list[str]
    mfa_enrolment_required: bool


class Tokens(TypedDict):
    """A login's tokens: send `access_token` as `Authorization: Bearer`; trade `refresh_token` for a new pair."""

    status: NotRequired[Literal["authenticated"]]
    access_token: str
    token_type: NotRequired[Literal["bearer"]]
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


class MfaChallenge(TypedDict):
    """The password held; finish with the code from the user's authenticator app (or a recovery code)."""

    status: NotRequired[Literal["mfa_required"]]
    mfa_token: str
    expires_in: int


class Session(TypedDict):
    """A web session: its cookie is set (HttpOnly); send `csrf_token` as `X-CSRF-Token` with every change."""

    status: NotRequired[Literal["authenticated"]]
    user: User
    csrf_token: str
    expires_at: str


class Tenant(TypedDict):
    id: str
    name: str | None
    created_at: str
    disabled_at: str | None


class Feedback(TypedDict):
    event_id: str
    kind: str
    duplicate: bool


class EventsAccepted(TypedDict):
    accepted: int
    duplicates: int


class Health(TypedDict):
    status: NotRequired[Literal["ok"]]


class Classification(TypedDict):
    intent: str | None
    confidence: float
    alternatives: list[Alternative]
    model_version: int
    model_id: str


class Alternative(TypedDict):
    intent: str
    confidence: float


class RecommendationList(TypedDict):
    items: list[Recommendation]
    model_version: int | None
    model_id: str | None


class Recommendation(TypedDict):
    document_id: str
    title: str
    collection: str
    score: float
    reason: str


class Group(TypedDict):
    name: str
    created_at: str
    members: list[str]


class Webhook(TypedDict):
    id: str
    url: str
    description: str
    events: list[str]
    collections: list[str] | None
    enabled: bool
    disabled_reason: str | None
    failures: int
    failing_since: str | None
    previous_secret_until: str | None
    created_at: str
    updated_at: str


class WebhookCreated(Webhook):
    """A webhook with its signing secret, shown this once."""

    secret: str


class Source(TypedDict):
    id: str
    name: str
    kind: str
    location: str
    collection: str
    options: JSONObject
    interval_seconds: int | None
    next_run_at: str | None
    documents: int
    last_run: JSONObject | None
    last_run_at: str | None
    created_at: str
    updated_at: str


class MfaEnrolment(TypedDict):
    """Show `provisioning_uri` as a QR code (or `secret` for typing), then verify a first code."""

    secret: str
    provisioning_uri: str


class RecoveryCodes(TypedDict):
    """Ten single-use codes for when the authenticator app is lost: shown this once."""

    recovery_codes: list[str]


class Secret(TypedDict):
    name: Literal["openai_api_key", "anthropic_api_key", "oidc_client_secret"]
    masked: str
    created_at: str
    updated_at: str
    last_used_at: str | None
    failing_since: str | None


class Usage(TypedDict):
    tenant_id: str
    since: str
    until: str
    key_id: str | None
    days: list[JSONObject]
    totals: JSONObject


class AuditRecord(TypedDict):
    tenant_id: str
    seq: int
    at: str
    actor: str
    action: str
    target: str | None
    summary: JSONObject
    request_id: str | None
    client: str | None
    prev_hash: str
    hash: str


class Event(TypedDict):
    event_id: str
    kind: str
    at: str
    received_at: str
    actor: str
    user_id: str | None
    document_id: str | None
    chunk_id: int | None
    collection: str | None
    search_id: str | None
    conversation_id: str | None
    message_id: int | None
    query: str | None
    rank: int | None
    value: float | None
    reason: str | None
    data: JSONObject


class Backup(TypedDict):
    name: str
    bytes: int
    created_at: str


class Delivery(TypedDict):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    status_code: int | None
    latency_ms: float | None
    error: str | None
    next_attempt_at: str | None
    job_id: str | None
    created_at: str
    delivered_at: str | None


class TrainedModel(TypedDict):
    id: str
    kind: str
    name: str
    version: int
    status: Literal["candidate", "active", "shadow", "retired"]
    traffic_share: float | None
    embedder: str | None
    data_hash: str
    labels: list[Any]
    metrics: JSONObject
    params: JSONObject
    created_at: str
    activated_at: str | None


Scalar = bool | int | float | str


class AccessSpec(TypedDict, total=False):
    """Who may read a document besides its owner and admins (`restricted: false`: the whole tenant)."""

    restricted: bool
    groups: list[str]
    users: list[str]


class Filters(TypedDict, total=False):
    """What hits must match: every tag, every metadata key equal to its value, one of the documents."""

    tags: list[str]
    metadata: dict[str, Scalar]
    document_ids: list[str]


class NewEvent(TypedDict):
    """An event to record (`events.send`): `event_id` is the client's unique id, so a batch sent twice is
    stored once; `kind` is view, click, helpful, not_helpful, rating or resolved."""

    event_id: str
    kind: str
    at: NotRequired[str | None]
    user_id: NotRequired[str | None]
    document_id: NotRequired[str | None]
    chunk_id: NotRequired[int | None]
    collection: NotRequired[str | None]
    search_id: NotRequired[str | None]
    conversation_id: NotRequired[str | None]
    message_id: NotRequired[int | None]
    query: NotRequired[str | None]
    rank: NotRequired[int | None]
    value: NotRequired[float | None]
    reason: NotRequired[str | None]
    data: NotRequired[JSONObject]
