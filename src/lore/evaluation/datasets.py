"""BEIR-layout data sets: the corpus, the judged queries with their graded documents, and their gold answers.

A chunk, or a citation, comes from corpus record `<id>` when its source is `record:<id>` (`Lore.add_corpus`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from lore.core.ingest import CorpusDoc
from lore.errors import InvalidInput
from lore.models import Hit


@dataclass(slots=True)
class BeirSet:
    name: str
    corpus_path: Path
    queries: dict[str, str]  # id -> text, only those with judgments
    qrels: dict[str, dict[str, int]]  # query id -> doc id -> grade

    def corpus(self) -> Iterator[CorpusDoc]:
        with self.corpus_path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    row = json.loads(line)
                    yield CorpusDoc(str(row["_id"]), row.get("title") or "", row.get("text") or "")


def load_beir(directory: Path, split: str = "test") -> BeirSet:
    """Read `corpus.jsonl`, `queries.jsonl` and `qrels/<split>.tsv`; only judged queries are kept."""
    paths = [directory / "corpus.jsonl", directory / "queries.jsonl", directory / "qrels" / f"{split}.tsv"]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise InvalidInput(f"not a BEIR-layout data set: missing {', '.join(missing)}")
    qrels: dict[str, dict[str, int]] = {}
    with paths[2].open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(float(row["score"]))
    queries = {}
    with paths[1].open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                if str(row["_id"]) in qrels:
                    queries[str(row["_id"])] = row["text"]
    name = "/".join(directory.resolve().parts[-2:]) if directory.parent.name == "xquad" else directory.name
    return BeirSet(name, paths[0], queries, {q: r for q, r in qrels.items() if q in queries})


@dataclass(frozen=True, slots=True)
class JudgedQuery:
    """A judged query: its gold documents (qrels of grade > 0), its gold answers (none when absent) and the
    text of its gold documents (`with_gold_passages`; none until then)."""

    id: str
    text: str
    gold_documents: frozenset[str]
    gold_answers: tuple[str, ...]
    gold_passages: tuple[str, ...] = ()


def gold_answers(directory: Path) -> dict[str, list[str]]:
    """Query id -> answer texts, from `metadata.answers` of `queries.jsonl` (spans or plain strings)."""
    answers: dict[str, list[str]] = {}
    with (directory / "queries.jsonl").open(encoding="utf-8") as lines:
        for line in (line for line in lines if line.strip()):
            row = json.loads(line)
            spans = (row.get("metadata") or {}).get("answers") or []
            texts = [span.get("text") if isinstance(span, dict) else span for span in spans]
            answers[str(row["_id"])] = [text for text in texts if isinstance(text, str) and text]
    return answers


def judged_queries(
    dataset: BeirSet, answers: Mapping[str, Sequence[str]], limit: int | None = None
) -> list[JudgedQuery]:
    """The judged queries, in file order, with their gold documents and answers."""
    return [
        JudgedQuery(
            query_id,
            text,
            frozenset(doc for doc, grade in dataset.qrels[query_id].items() if grade > 0),
            tuple(answers.get(query_id, ())),
        )
        for query_id, text in list(dataset.queries.items())[:limit]
    ]


def with_gold_passages(dataset: BeirSet, queries: Sequence[JudgedQuery]) -> list[JudgedQuery]:
    """The queries with the text of their gold documents, the whole passages an answer is compared with."""
    wanted = {doc for query in queries for doc in query.gold_documents}
    texts = {doc.id: doc.text for doc in dataset.corpus() if doc.id in wanted}
    return [
        replace(
            query, gold_passages=tuple(texts[doc] for doc in sorted(query.gold_documents) if doc in texts)
        )
        for query in queries
    ]


def held_out(queries: Sequence[JudgedQuery], every: int) -> frozenset[str]:
    """The gold documents of every `every`-th query (the first, the `every`+1-th ...): left out of the corpus,
    they make those questions (and any other whose gold documents are all among them) unanswerable."""
    return frozenset(doc for query in queries[::every] for doc in query.gold_documents)


def foreign(queries: Sequence[JudgedQuery]) -> list[JudgedQuery]:
    """Another set's queries, to ask of this set's corpus: none of them has an answer there."""
    return [JudgedQuery(f"foreign:{q.id}", q.text, frozenset(), ()) for q in queries]


def source_record(source: str) -> str:
    """The corpus record id a chunk's source names: `record:<id>` -> `<id>`."""
    return source.removeprefix("record:")


def record_id(hit: Hit) -> str:
    return source_record(hit.chunk.source)
