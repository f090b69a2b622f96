"""Python client of Lore's HTTP API: `Lore` (sync) and `AsyncLore` (async), one method per route.

from lore_client import Lore

with Lore("http://127.0.0.1:8000", api_key="lore_sk_...") as lore:
    lore.documents.add("Refunds", "Open Billing, then Request refund.")
    for hit in lore.search("how do I get a refund")["hits"]:
        print(hit["title"], hit["score"])
"""

from lore_client._client import AsyncLore, Lore
from lore_client._pages import AsyncPages, Page, Pages
from lore_client._routes import OMIT, Route
from lore_client._streams import AsyncStream, ServerSentEvent, Stream
from lore_client._transport import NO_RETRIES, Retries
from lore_client.answers import Answer, AnswerEvent, Token
from lore_client.errors import (
    AuthenticationError,
    Conflict,
    ConnectionFailed,
    InvalidRequest,
    LoreError,
    MfaRequired,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    Timeout,
    Unavailable,
    UnsupportedMediaType,
)
from lore_client.routes import ROUTES

__all__ = [
    "NO_RETRIES",
    "OMIT",
    "ROUTES",
    "Answer",
    "AnswerEvent",
    "AsyncLore",
    "AsyncPages",
    "AsyncStream",
    "AuthenticationError",
    "Conflict",
    "ConnectionFailed",
    "InvalidRequest",
    "Lore",
    "LoreError",
    "MfaRequired",
    "NotFound",
    "Page",
    "Pages",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "Retries",
    "Route",
    "ServerError",
    "ServerSentEvent",
    "Stream",
    "Timeout",
    "Token",
    "Unavailable",
    "UnsupportedMediaType",
]
