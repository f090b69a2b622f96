"""The audit log: who did what to which record, when, from where, appended to a tamper-evident chain per tenant.

    >>> audit = AuditLog(db.audit)
    >>> audit.record("default", "user:u1", "document.deleted", target="doc-1", summary={"title": "Refunds"})
    >>> audit.verify("default").ok
    True

Each record's `hash` is sha256 over the canonical JSON of its fields and the previous record's hash, so editing,
deleting or moving a record breaks the chain where it happened, and `verify` names that seq. (Removing the
newest records, or rewriting the whole chain from some point, needs a copy of the head kept elsewhere to notice:
an export carries every hash.) Summaries say what changed, never a secret or a document's text: `sanitised`
drops every field whose name looks like one (password, secret, token, key, text, content ...), redacts values
that look like credentials, and bounds the rest.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, Literal

from lore.backends.store.audit_records import AuditRecord, AuditRecords
from lore.models import utcnow

GENESIS = "0" * 64  # the `prev_hash` of a tenant's first record
ANONYMOUS = "anonymous"  # the actor of a request that proved no identity
REDACTED = "[redacted]"
MAX_STRING = 200
MAX_ITEMS = 50
MAX_DEPTH = 4
_TEXT_LIMITS = {"actor": 200, "action": 100, "target": 500, "request_id": 128, "client": 100}

_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_DENIED_PARTS = ("password", "passwd", "passphrase", "secret", "credential", "cipher")
# ... and names whose last word is one of these: `api_key`, `refresh_token`, `text` (not `key_id`, `content_type`)
_DENIED_LAST_WORDS = frozenset(
    {
        "key",
        "keys",
        "token",
        "tokens",
        "text",
        "texts",
        "content",
        "contents",
        "body",
        "authorization",
        "cookie",
    }
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORDS = re.compile(r"[a-z0-9]+")
_CREDENTIAL = re.compile(
    r"(?i:bearer\s+\S+)"  # an Authorization header's value
    r"|eyJ[\w-]+\.[\w-]+\.[\w-]*"  # a JWT
    r"|gAAAAA[\w=-]{40,}"  # a Fernet token
    r"|sk-[\w-]{16,}"  # an OpenAI or Anthropic key
)


def secret_looking(name: str) -> bool:
    """Whether a summary field's name suggests a secret or document text: `api_key`, `newPassword`, `text`
    (but not `key_id`, `content_type` or `llm_tokens_per_day`)."""
    lowered = _CAMEL.sub("_", name).lower()
    words = _WORDS.findall(lowered)
    return any(part in lowered for part in _DENIED_PARTS) or bool(words and words[-1] in _DENIED_LAST_WORDS)


def sanitised(summary: Mapping[str, Any] | None) -> dict[str, Any]:
    """The summary as it may be stored: JSON values only, secret-looking fields dropped, credential-looking
    strings redacted, strings, lists and nesting bounded."""
    return _mapping(summary or {}, 1)


def _mapping(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    kept = ((str(name), item) for name, item in value.items())
    return {name: _value(item, depth) for name, item in kept if not secret_looking(name)}


def _value(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, Enum):
        return _value(value.value, depth)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return _string(value)
    if depth >= MAX_DEPTH:
        return "[…]"
    if isinstance(value, Mapping):
        return _mapping(value, depth + 1)
    if isinstance(value, set | frozenset):
        value = sorted(value, key=str)
    if isinstance(value, list | tuple):
        return [_value(item, depth + 1) for item in value[:MAX_ITEMS]]
    return _string(str(value))


def _number(value: float) -> int | float | str:
    """Whole floats as ints and no NaN: PostgreSQL's JSONB would give them back otherwise than they were hashed."""
    if not math.isfinite(value):
        return str(value)
    return int(value) if value.is_integer() else value


def _string(value: str) -> str:
    text = value.replace("\x00", "")
    if _CREDENTIAL.search(text):
        return REDACTED
    return text if len(text) <= MAX_STRING else text[: MAX_STRING - 1] + "…"


def _text(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    return value.replace("\x00", "")[: _TEXT_LIMITS[name]]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def seal(record: AuditRecord) -> str:
    """The hash a record must carry: sha256 over its canonical JSON (`hash` left out, `prev_hash` in)."""
    fields = asdict(record)
    del fields["hash"]
    fields["at"] = record.at.astimezone(UTC).isoformat(timespec="microseconds")
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


BreakReason = Literal["missing", "edited", "broken_link"]


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a chain does not hold: records missing from `seq` on, the record at `seq` changed, or the record
    at `seq` does not follow the one before it (moved, or its predecessor replaced)."""

    seq: int
    reason: BreakReason
    message: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    tenant_id: str
    records: int
    head_seq: int
    head_hash: str
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def check_chain(tenant_id: str, records: Iterable[AuditRecord]) -> ChainReport:
    """Walk a tenant's records in seq order; after a break, carry on from the record found, so each place where
    the chain was tampered with is reported once."""
    expected, prev, count = 1, GENESIS, 0
    breaks: list[ChainBreak] = []
    for record in records:
        count += 1
        if record.seq != expected:
            gap = f"records {expected} to {record.seq - 1} are missing"
            breaks.append(ChainBreak(expected, "missing", gap))
        if record.hash != seal(record):
            breaks.append(ChainBreak(record.seq, "edited", f"record {record.seq} was changed"))
        elif record.seq == expected and record.prev_hash != prev:
            link = f"record {record.seq} does not follow record {record.seq - 1}"
            breaks.append(ChainBreak(record.seq, "broken_link", link))
        expected, prev = record.seq + 1, record.hash
    return ChainReport(tenant_id, count, expected - 1, prev, breaks)


class AuditLog:
    """Appends records and verifies chains over the database's `audit` repository."""

    def __init__(self, records: AuditRecords, clock: Callable[[], datetime] = utcnow) -> None:
        self.records = records
        self.clock = clock

    def record(
        self,
        tenant_id: str,
        actor: str,
        action: str,
        target: str | None = None,
        summary: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        client: str | None = None,
    ) -> AuditRecord:
        """Append one record. `action` is `area.verb` (`document.deleted`, `secret.set`); `summary` says what
        changed (sanitised here, so callers may pass before/after dicts as they are)."""
        if not _ACTION.fullmatch(action):
            raise ValueError(f"audit actions are lower-case `area.verb` names, not {action!r}")
        clean = sanitised(summary)
        at = self.clock()

        def make(seq: int, prev_hash: str | None) -> AuditRecord:
            unsealed = AuditRecord(
                tenant_id=tenant_id,
                seq=seq,
                at=at,
                actor=_text("actor", actor) or ANONYMOUS,
                action=action,
                target=_text("target", target),
                summary=clean,
                request_id=_text("request_id", request_id),
                client=_text("client", client),
                prev_hash=prev_hash or GENESIS,
                hash="",
            )
            return replace(unsealed, hash=seal(unsealed))

        return self.records.append(tenant_id, make)

    def verify(self, tenant_id: str | None = None) -> list[ChainReport]:
        """The chain of one tenant, or of every tenant that has a log."""
        tenants = [tenant_id] if tenant_id is not None else self.records.tenants()
        return [check_chain(tenant, self.records.chain(tenant)) for tenant in tenants]
