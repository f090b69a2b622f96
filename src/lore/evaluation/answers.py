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

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lore.answers import Answer, AnswerInterrupted, NoProviderAnswered, ProviderFailed, ProviderUnavailable
from lore.conversations import Answering, Question
from lore.evaluation.datasets import JudgedQuery, record_id, source_record
from lore.evaluation.metrics import contains_answer, percentile_ms, rate
from lore.models import DEFAULT_TENANT, Hit, SearchMode

ANSWER_ERRORS = (ProviderUnavailable, ProviderFailed, AnswerInterrupted, NoProviderAnswered)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One judged query through search and the provider chain: its passages, its answer or the error instead."""

    query: JudgedQuery
    passages: tuple[Hit, ...] = ()
    answer: Answer | None = None
    error: str | None = None  # the failure's message, when no answer came
    search_seconds: float | None = None  # None: not searched (empty query)
    answer_seconds: float = 0.0

    @property
    def gold_in_passages(self) -> bool:
        return any(record_id(hit) in self.query.gold_documents for hit in self.passages)

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
        return any(source_record(c.source) in self.query.gold_documents for c in self.answer.citations)

    @property
    def recalled(self) -> bool:
        if self.answer is None or self.answer.abstained:
            return False
        return contains_answer(self.answer.text, self.query.gold_answers)


def answer_query(
    answering: Answering, query: JudgedQuery, *, mode: SearchMode, providers: Sequence[str]
) -> Outcome:
    """Ground the query as a user's question is grounded (search, relevance floor), then answer it; a
    provider failure becomes the outcome's error."""
    if not query.text.strip():
        return Outcome(query)
    start = time.perf_counter()
    grounding = answering.ground(DEFAULT_TENANT, Question(query.text, providers=providers, mode=mode))
    searched = time.perf_counter()
    try:
        answer, error = answering.chain.complete(grounding.request, providers), None
    except ANSWER_ERRORS as failure:
        answer, error = None, failure.message
    return Outcome(
        query, grounding.retrieved, answer, error, searched - start, time.perf_counter() - searched
    )


def answer_all(
    answering: Answering,
    queries: Sequence[JudgedQuery],
    *,
    mode: SearchMode,
    providers: Sequence[str],
    on_progress: Callable[[int], None] | None = None,
) -> list[Outcome]:
    """`answer_query` for each query in turn; `on_progress` hears how many are done."""
    outcomes = []
    for query in queries:
        outcomes.append(answer_query(answering, query, mode=mode, providers=providers))
        if on_progress:
            on_progress(len(outcomes))
    return outcomes


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
    spans = [o for o in outcomes if o.query.gold_answers]
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
