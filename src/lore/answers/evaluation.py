"""Answer quality on a BEIR-layout set: the figures `lore eval answers` prints.

Every judged query (the first `limit` of them) takes the path a user's question takes: `Answering.ground` (top k
chunks, the given mode; none when even the best is under the embedding model's relevance floor), then
`ProviderChain.complete` on those passages. A query's gold documents are its qrels
of grade > 0; its gold answers are the `text` of the spans in `metadata.answers` of `queries.jsonl` (none when
absent). A chunk, or a citation, comes from corpus record `<id>` when its source is `record:<id>`.

    dataset                         the set's name, as `lore eval retrieval` gives it
    provider                        the provider order asked for, comma-separated ("openai,extractive")
    mode, k                         retrieval mode; passages per answer
    queries                         judged queries evaluated
    answered                        queries that got an answer: neither an abstention nor an error
    errors                          queries whose answer failed: every provider failed, one failed mid-answer,
                                    or one refused the request; they count as neither answered nor abstained
    answered_by                     provider name -> answers (abstentions included) it wrote; shows fallbacks
    gold_in_passages                share of queries with a gold document among their k passages
    citation_accuracy               share of answered queries citing at least one chunk of a gold document
    answer_recall                   share of queries with gold answers whose answer contains one of them, both
                                    normalised as SQuAD does (lower case, no punctuation, no articles) and
                                    matched on whole words, citation markers removed; abstentions and errors
                                    are misses; null when no query has gold answers
    answer_recall_gold_in_passages  the same, over those of them with a gold document among their passages
    abstention_rate                 share of queries the provider abstained on (an empty query counts as one)
    latency_ms_p50, latency_ms_p99  per query, search plus answer (failed answers included), milliseconds
    search_ms_p50, answer_ms_p50    the median of each part alone
    ingest_seconds                  time to ingest the corpus (near 0 when a reused data dir already holds it)

Shares are rounded to four places and are null when their denominator is zero.
"""

from __future__ import annotations

import json
import re
import string
import time
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lore.answers.errors import AnswerInterrupted, NoProviderAnswered, ProviderFailed, ProviderUnavailable
from lore.answers.types import Answer
from lore.conversations.answering import Answering
from lore.conversations.answering import Question as Asked
from lore.core.evaluation import BeirSet, percentile_ms
from lore.models import DEFAULT_TENANT, Hit, SearchMode

ANSWER_ERRORS = (ProviderUnavailable, ProviderFailed, AnswerInterrupted, NoProviderAnswered)
_MARKER = re.compile(r"\[\d+\]")
_ARTICLE = re.compile(r"\b(a|an|the)\b")
_INITIALISM = re.compile(r"\b(?:[^\W\d_]\.){2,}")


def normalise(text: str) -> str:
    """SQuAD's answer normalisation (lower case, no punctuation, no articles, single spaces), except that
    punctuation separates words instead of joining them: "Six-time" holds "six", "Darwin's" holds "darwin";
    only the dots of an initialism go: "U.S." is "us"."""
    text = _INITIALISM.sub(lambda match: match.group().replace(".", ""), text.lower())
    text = "".join(" " if _punctuation(ch) else ch for ch in text)
    return " ".join(_ARTICLE.sub(" ", text).split())


def _punctuation(ch: str) -> bool:
    """ASCII punctuation and symbols, and Unicode punctuation: dashes, curly quotes, guillemets."""
    return ch in string.punctuation or unicodedata.category(ch).startswith("P")


def contains_answer(answer: str, gold_answers: Sequence[str]) -> bool:
    """Whether a gold answer occurs in the answer as whole words, both normalised, citation markers ignored
    ("two" is not in "network", "2" is not in "[2]"; "308" is in "共308分": Chinese has no spaces)."""
    found = normalise(_MARKER.sub(" ", answer))
    return any(_occurs(gold, found) for gold in map(normalise, gold_answers) if gold)


def _occurs(needle: str, text: str) -> bool:
    start = text.find(needle)
    while start != -1:
        end = start + len(needle)
        before, after = text[start - 1 : start] if start else "", text[end : end + 1]
        if not (_joined(before, needle[0]) or _joined(needle[-1], after)):
            return True
        start = text.find(needle, start + 1)
    return False


def _joined(left: str, right: str) -> bool:
    """Whether two adjacent characters belong to one word: letters or digits of a script that spaces its words
    (below Thai, U+0E00: Latin, Greek, Cyrillic, Arabic, Devanagari ...), not Thai or Chinese."""
    return all(ch.isalnum() and ord(ch) < 0x0E00 for ch in (left, right)) and bool(left and right)


def source_record(source: str) -> str:
    """The corpus record id a chunk's source names: `record:<id>` -> `<id>`."""
    return source.removeprefix("record:")


def record_id(hit: Hit) -> str:
    return source_record(hit.chunk.source)


def rate(part: float, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: str
    gold_documents: frozenset[str]
    gold_answers: tuple[str, ...]


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


def load_questions(
    dataset: BeirSet, answers: Mapping[str, Sequence[str]], limit: int | None = None
) -> list[Question]:
    """The judged queries, in file order, with their gold documents and answers."""
    return [
        Question(
            query_id,
            text,
            frozenset(doc for doc, grade in dataset.qrels[query_id].items() if grade > 0),
            tuple(answers.get(query_id, ())),
        )
        for query_id, text in list(dataset.queries.items())[:limit]
    ]


@dataclass(frozen=True, slots=True)
class Outcome:
    """One question through search and the provider chain: its passages, its answer or the error instead."""

    question: Question
    passages: tuple[Hit, ...] = ()
    answer: Answer | None = None
    error: str | None = None  # the failure's message, when no answer came
    search_seconds: float | None = None  # None: not searched (empty question)
    answer_seconds: float = 0.0

    @property
    def gold_in_passages(self) -> bool:
        return any(record_id(hit) in self.question.gold_documents for hit in self.passages)

    @property
    def answered(self) -> bool:
        return self.answer is not None and not self.answer.abstained

    @property
    def abstained(self) -> bool:
        return self.error is None and (self.answer is None or self.answer.abstained)

    @property
    def cites_gold(self) -> bool:
        if self.answer is None or self.answer.abstained:
            return False
        return any(source_record(c.source) in self.question.gold_documents for c in self.answer.citations)

    @property
    def recalled(self) -> bool:
        if self.answer is None or self.answer.abstained:
            return False
        return contains_answer(self.answer.text, self.question.gold_answers)


def answer_question(
    answering: Answering, question: Question, *, mode: SearchMode, providers: Sequence[str]
) -> Outcome:
    """Ground the question as a user's question is grounded (search, relevance floor), then answer it; a
    provider failure becomes the outcome's error."""
    if not question.text.strip():
        return Outcome(question)
    start = time.perf_counter()
    prepared = answering.ground(DEFAULT_TENANT, Asked(question.text, providers=providers, mode=mode))
    searched = time.perf_counter()
    try:
        answer, error = answering.chain.complete(prepared.request, providers), None
    except ANSWER_ERRORS as failure:
        answer, error = None, failure.message
    return Outcome(
        question, prepared.retrieved, answer, error, searched - start, time.perf_counter() - searched
    )


def summarise(
    outcomes: Sequence[Outcome],
    *,
    dataset: str,
    providers: Sequence[str],
    mode: str,
    k: int,
    ingest_seconds: float,
) -> dict[str, object]:
    """The JSON object `lore eval answers` prints; each field is described in the module docstring."""
    answered = [o for o in outcomes if o.answered]
    spans = [o for o in outcomes if o.question.gold_answers]
    spans_with_gold = [o for o in spans if o.gold_in_passages]
    searched = [o for o in outcomes if o.search_seconds is not None]
    total = [(o.search_seconds or 0.0) + o.answer_seconds for o in searched]
    return {
        "dataset": dataset,
        "provider": ",".join(providers),
        "mode": mode,
        "k": k,
        "queries": len(outcomes),
        "answered": len(answered),
        "errors": sum(o.error is not None for o in outcomes),
        "answered_by": dict(Counter(o.answer.usage.provider for o in outcomes if o.answer)),
        "gold_in_passages": rate(sum(o.gold_in_passages for o in outcomes), len(outcomes)),
        "citation_accuracy": rate(sum(o.cites_gold for o in answered), len(answered)),
        "answer_recall": rate(sum(o.recalled for o in spans), len(spans)),
        "answer_recall_gold_in_passages": rate(
            sum(o.recalled for o in spans_with_gold), len(spans_with_gold)
        ),
        "abstention_rate": rate(sum(o.abstained for o in outcomes), len(outcomes)),
        "latency_ms_p50": percentile_ms(total, 50),
        "latency_ms_p99": percentile_ms(total, 99),
        "search_ms_p50": percentile_ms([o.search_seconds or 0.0 for o in searched], 50),
        "answer_ms_p50": percentile_ms([o.answer_seconds for o in searched], 50),
        "ingest_seconds": round(ingest_seconds, 2),
    }


def failures(outcomes: Sequence[Outcome]) -> list[tuple[str, int]]:
    """The errors met, most frequent first, with how many answers each cost."""
    return Counter(o.error for o in outcomes if o.error is not None).most_common()
