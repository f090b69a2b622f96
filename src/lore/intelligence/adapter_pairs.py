"""Query-document pairs an adapter learns from: labelled pairs from a TSV or CSV file, or clicks and helpful
feedback from the tenant's events.

A file has a query and what answers it on each row. With a header, the columns are `query` and one of
`document_id`, `source`, `chunk_id` or `text`; without one, the second column is a document id, else a
document's source, else the text of a passage that answers the query.

From events: a `click` pairs its query (or its search's query) with the clicked chunk or document; a `helpful`
on a document pairs it with its query (or its search's query); a `helpful` on an answer pairs the question with
the documents the answer cited.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from lore.backends.store.event_records import Event, EventFilters, EventRecords
from lore.errors import InvalidInput

TARGETS = ("document_id", "source", "chunk_id", "text")
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Pair:
    """A query and what answers it: a document, one of its chunks, or a passage's text (exactly one)."""

    query: str
    document_id: str | None = None
    chunk_id: int | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        targets = [t for t in (self.document_id, self.chunk_id, self.text) if t is not None]
        if not self.query.strip() or len(targets) != 1:
            raise InvalidInput(
                "a pair is a query and one document id, chunk id or text", details=asdict(self)
            )


def data_hash(pairs: Iterable[Pair]) -> str:
    """The same pairs in any order hash alike."""
    lines = sorted(json.dumps(asdict(pair), sort_keys=True, ensure_ascii=False) for pair in pairs)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


DocumentLookup = Callable[[Sequence[str]], dict[str, str]]
"""References (document ids or sources) -> the document id of each that names a document of the collection."""


def read_pairs(path: Path, documents: DocumentLookup) -> list[Pair]:
    """Pairs of a `.tsv` or `.csv` file (tab-separated unless the name ends in `.csv`)."""
    if not path.is_file():
        raise InvalidInput(f"no pairs file {str(path)!r}", details={"path": str(path)})
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InvalidInput("the pairs file is too large", details={"max_bytes": MAX_FILE_BYTES})
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.reader(handle, delimiter="," if path.suffix == ".csv" else "\t") if row]
    if rows and rows[0][0].strip().lower() == "query":
        return _with_header(rows[0], rows[1:], documents)
    return _without_header(rows, documents)


def _with_header(header: list[str], rows: list[list[str]], documents: DocumentLookup) -> list[Pair]:
    names = [name.strip().lower() for name in header]
    column = next((name for name in names[1:] if name in TARGETS), None)
    if column is None:
        raise InvalidInput(
            f"the header names no target column ({', '.join(TARGETS)})", details={"header": names}
        )
    at = names.index(column)
    found = _checked(rows, at)
    if column == "chunk_id":
        return [Pair(query, chunk_id=_chunk_id(value)) for query, value in found]
    if column == "text":
        return [Pair(query, text=value) for query, value in found]
    resolved = documents(sorted({value for _, value in found}))
    return [Pair(query, document_id=resolved[value]) for query, value in found if value in resolved]


def _without_header(rows: list[list[str]], documents: DocumentLookup) -> list[Pair]:
    found = _checked(rows, 1)
    resolved = documents(sorted({value for _, value in found}))
    return [
        Pair(query, document_id=resolved[value]) if value in resolved else Pair(query, text=value)
        for query, value in found
    ]


def _checked(rows: list[list[str]], at: int) -> list[tuple[str, str]]:
    pairs = []
    for number, row in enumerate(rows, start=1):
        if len(row) <= at or not row[0].strip() or not row[at].strip():
            raise InvalidInput("a row lacks its query or its target", details={"row": number})
        pairs.append((row[0].strip(), row[at].strip()))
    return pairs


def _chunk_id(value: str) -> int:
    if not value.isdigit():
        raise InvalidInput("a chunk id is a number", details={"chunk_id": value[:64]})
    return int(value)


def pairs_from_events(events: EventRecords, tenant_id: str) -> list[Pair]:
    """Pairs from the tenant's clicks and helpful feedback, oldest first (the collection is chosen later,
    when documents are resolved in it)."""
    signals = list(events.stream(tenant_id, EventFilters(kinds=frozenset({"click", "helpful"}))))
    searches, answers = _context(events, tenant_id, signals)
    pairs: list[Pair] = []
    for event in signals:
        query = event.query or searches.get(event.search_id or "")
        if event.kind == "click" and query and event.chunk_id is not None:
            pairs.append(Pair(query, chunk_id=event.chunk_id))
        elif query and event.document_id:
            pairs.append(Pair(query, document_id=event.document_id))
        elif event.kind == "helpful" and event.message_id is not None:
            question, cited = answers.get((event.conversation_id, event.message_id), ("", []))
            pairs.extend(Pair(question, document_id=document) for document in cited if question)
    return pairs


def _context(
    events: EventRecords, tenant_id: str, signals: list[Event]
) -> tuple[dict[str, str], dict[tuple[str | None, int], tuple[str, list[str]]]]:
    """The queries of the searches and the questions and citations of the answers the signals refer to."""
    wanted_searches = {event.search_id for event in signals if event.search_id and not event.query}
    wanted_answers = {(e.conversation_id, e.message_id) for e in signals if e.message_id is not None}
    searches: dict[str, str] = {}
    answers: dict[tuple[str | None, int], tuple[str, list[str]]] = {}
    if not wanted_searches and not wanted_answers:
        return searches, answers
    for event in events.stream(tenant_id, EventFilters(kinds=frozenset({"search", "answer"}))):
        if event.kind == "search" and event.search_id in wanted_searches and event.query:
            searches[event.search_id] = event.query
        key = (event.conversation_id, event.message_id)
        if event.kind == "answer" and event.message_id is not None and key in wanted_answers and event.query:
            cited = [str(d) for d in event.data.get("document_ids") or [] if isinstance(d, str)]
            answers[(event.conversation_id, event.message_id)] = (event.query, cited)
    return searches, answers
