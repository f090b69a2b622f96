"""`ingest`: a batch of documents given as text, stored with the job so that a worker on any machine can run it.

Idempotent: each document is written by source (one given, or one derived from its content), replacing the
stored version atomically, and vectors come from the embedding cache; a rerun after a crash converges on the
same documents and chunks. The job carries its submitter as `author` (`author_params`): its documents are
owned by it, and a source of another owner's document fails the job as that write would fail (403).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lore.errors import InvalidInput
from lore.jobs.registry import ReportProgress, handler
from lore.models import DEFAULT_COLLECTION, OPERATOR, Access, Author
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
    "access": dict,
}


def author_params(author: Author) -> dict[str, Any]:
    """How a job's params record who submitted it (JSON: the readers as a sorted list, None for admins)."""
    readers = None if author.readers is None else sorted(author.readers)
    return {"name": author.name, "readers": readers}


def _author(params: dict[str, Any]) -> Author:
    """The submitter; a job queued without one was queued on the machine, by the operator."""
    given = params.get("author")
    if given is None:
        return OPERATOR
    readers = given["readers"]
    return Author(given["name"], None if readers is None else frozenset(readers))


def _access(document: dict[str, Any]) -> Access | None:
    given = document.get("access")
    if given is None:
        return None
    if not given.get("restricted", True):
        return Access(restricted=False)
    return Access(True, tuple(given.get("groups", ())), tuple(given.get("users", ())))


def check(params: dict[str, Any]) -> None:
    """Bad documents are refused when the job is submitted, not found out by a worker later."""
    documents = params.get("documents")
    if not isinstance(documents, list) or not 1 <= len(documents) <= MAX_DOCUMENTS:
        raise InvalidInput(f"`documents` must be a list of 1 to {MAX_DOCUMENTS} documents")
    _check_author(params.get("author"))
    for position, document in enumerate(documents):
        _check_document(position, document)


def _check_author(author: object) -> None:
    if author is None:
        return
    readers = author.get("readers") if isinstance(author, dict) else None
    if (
        not isinstance(author, dict)
        or set(author) != {"name", "readers"}
        or not isinstance(author["name"], str)
        or not (readers is None or (isinstance(readers, list) and all(isinstance(r, str) for r in readers)))
    ):
        raise InvalidInput("`author` must be {name: str, readers: [str] | null}")


def _check_access(position: int, access: dict[str, Any]) -> None:
    where = {"document": position, "field": "access"}
    if set(access) - {"restricted", "groups", "users"} or not isinstance(
        access.get("restricted", True), bool
    ):
        raise InvalidInput("`access` takes `restricted`, `groups` and `users`", details=where)
    for name in ("groups", "users"):
        names = access.get(name, [])
        if not isinstance(names, list) or not all(isinstance(item, str) for item in names):
            raise InvalidInput(f"`access.{name}` must be a list of strings", details=where)


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
    if "access" in document:
        _check_access(position, document["access"])


@handler("ingest", validate=check)
def ingest(lore: Lore, params: dict[str, Any], progress: ReportProgress) -> dict[str, Any]:
    documents = params["documents"]
    author = _author(params)
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
            author=author,
            access=_access(document),
        )
        ids.append(written.id)
    progress(len(documents), len(documents))
    return {"documents": len(ids), "document_ids": ids}
