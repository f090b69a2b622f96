"""`ingest`: a batch of documents given as text, stored with the job so that a worker on any machine can run it.

Idempotent: each document is written by source (one given, or one derived from its content), replacing the
stored version atomically, and vectors come from the embedding cache; a rerun after a crash converges on the
same documents and chunks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lore.errors import InvalidInput
from lore.jobs.registry import ReportProgress, handler
from lore.models import DEFAULT_COLLECTION
from lore.names import check_name

if TYPE_CHECKING:
    from lore.service import Lore

MAX_DOCUMENTS = 1000
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "title": str,
    "text": str,
    "source": (str, type(None)),
    "collection": str,
    "tags": list,
    "metadata": dict,
}


def check(params: dict[str, Any]) -> None:
    """Bad documents are refused when the job is submitted, not found out by a worker later."""
    documents = params.get("documents")
    if not isinstance(documents, list) or not 1 <= len(documents) <= MAX_DOCUMENTS:
        raise InvalidInput(f"`documents` must be a list of 1 to {MAX_DOCUMENTS} documents")
    for position, document in enumerate(documents):
        _check_document(position, document)


def _check_document(position: int, document: object) -> None:
    where = {"document": position}
    if not isinstance(document, dict):
        raise InvalidInput("each document must be an object", details=where)
    if unknown := set(document) - set(_FIELDS):
        raise InvalidInput(f"unknown document fields: {sorted(unknown)}", details=where)
    for name, expected in _FIELDS.items():
        if name in document and not isinstance(document[name], expected):
            raise InvalidInput(
                f"document field {name!r} has the wrong type", details={**where, "field": name}
            )
    if not document.get("text"):
        raise InvalidInput("a document needs a non-empty `text`", details=where)
    if "collection" in document:
        check_name("collection", document["collection"])


@handler("ingest", validate=check)
def ingest(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    documents = params["documents"]
    ids = []
    for done, document in enumerate(documents):
        progress(done, len(documents))
        written = lore.add_text(
            title=document.get("title", ""),
            text=document["text"],
            source=document.get("source"),
            tenant_id=params["tenant_id"],
            collection=document.get("collection", DEFAULT_COLLECTION),
            tags=document.get("tags", []),
            metadata=document.get("metadata"),
        )
        ids.append(written.id)
    progress(len(documents), len(documents))
    return {"documents": len(ids), "document_ids": ids}
