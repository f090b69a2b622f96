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
    token_f1, rouge_l               mean token F1 and ROUGE-L (F-measure) of the answer against the query's
                                    gold passages, the whole text of its gold documents (the best of them;
                                    abstentions and errors score 0), over queries whose gold documents the
                                    corpus holds; null when none does
    cited_overlaps_gold             share of answered queries whose cited chunks include one that overlaps a
                                    gold passage (half its words or more are words of it)
    false_abstention_rate           share of queries with a gold document among their passages (answerable)
                                    that the provider abstained on
    unanswerable                    questions whose answer the knowledge base does not hold: each query again
                                    with its gold documents held out of its passages (`--held-out`), and
                                    another set's queries (`--foreign`)
    false_answer_rate               share of them answered instead of abstained on; `false_answer_held_out`
                                    and `false_answer_foreign` for each kind alone
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
from lore.core.retrieve import SearchRequest
from lore.evaluation.datasets import JudgedQuery, record_id, source_record
from lore.evaluation.metrics import contains_answer, overlaps, percentile_ms, rate, rouge_l, token_f1
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

    def passage_score(self, score: Callable[[str, str], float]) -> float:
        """The answer's best score against one of the gold passages; 0 for an abstention or an error."""
        if self.answer is None or self.answer.abstained:
            return 0.0
        return max((score(self.answer.text, gold) for gold in self.query.gold_passages), default=0.0)

    @property
    def cites_overlapping(self) -> bool:
        if self.answer is None or self.answer.abstained:
            return False
        golds = self.query.gold_passages
        return any(overlaps(c.text, gold) for c in self.answer.citations for gold in golds)


def answer_query(
    answering: Answering,
    query: JudgedQuery,
    *,
    mode: SearchMode,
    providers: Sequence[str],
    held_out: bool = False,
) -> Outcome:
    """Ground the query as a user's question is grounded (search, relevance floor), then answer it; a
    provider failure becomes the outcome's error. `held_out`: as if the corpus lacked the query's gold
    documents (its passages are the best others)."""
    if not query.text.strip():
        return Outcome(query)
    start = time.perf_counter()
    question = Question(query.text, providers=providers, mode=mode)
    if held_out:
        grounding = answering.grounded(DEFAULT_TENANT, question, _without_gold(answering, query, mode))
    else:
        grounding = answering.ground(DEFAULT_TENANT, question)
    searched = time.perf_counter()
    try:
        answer, error = answering.chain.complete(grounding.request, providers), None
    except ANSWER_ERRORS as failure:
        answer, error = None, failure.message
    return Outcome(
        query, grounding.retrieved, answer, error, searched - start, time.perf_counter() - searched
    )


def _without_gold(answering: Answering, query: JudgedQuery, mode: SearchMode) -> list[Hit]:
    """The passages the query would get from a corpus without its gold documents."""
    depth = answering.passages + 20
    hits = answering.lore.search(SearchRequest(DEFAULT_TENANT, query.text, depth, mode))
    return [hit for hit in hits if record_id(hit) not in query.gold_documents][: answering.passages]


def answer_all(
    answering: Answering,
    queries: Sequence[JudgedQuery],
    *,
    mode: SearchMode,
    providers: Sequence[str],
    held_out: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> list[Outcome]:
    """`answer_query` for each query in turn; `on_progress` hears how many are done."""
    outcomes = []
    for query in queries:
        outcomes.append(answer_query(answering, query, mode=mode, providers=providers, held_out=held_out))
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
    held_out: Sequence[Outcome] = (),
    foreign: Sequence[Outcome] = (),
) -> dict[str, object]:
    """The JSON object `lore eval answers` prints; each field is described in the module docstring.
    `held_out` and `foreign` are the unanswerable questions' outcomes."""
    answered = [o for o in outcomes if o.answered]
    spans = [o for o in outcomes if o.query.gold_answers]
    spans_with_gold = [o for o in spans if o.gold_in_passages]
    passages = [o for o in outcomes if o.query.gold_passages]
    answerable = [o for o in outcomes if o.gold_in_passages]
    unanswerable = [*held_out, *foreign]
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
        "token_f1": _mean([o.passage_score(token_f1) for o in passages]),
        "rouge_l": _mean([o.passage_score(rouge_l) for o in passages]),
        "cited_overlaps_gold": rate(
            sum(o.cites_overlapping for o in answered if o.query.gold_passages),
            sum(bool(o.query.gold_passages) for o in answered),
        ),
        "false_abstention_rate": rate(sum(o.abstained for o in answerable), len(answerable)),
        "unanswerable": len(unanswerable),
        "false_answer_rate": rate(sum(o.answered for o in unanswerable), len(unanswerable)),
        "false_answer_held_out": rate(sum(o.answered for o in held_out), len(held_out)),
        "false_answer_foreign": rate(sum(o.answered for o in foreign), len(foreign)),
        "latency_ms_p50": percentile_ms(total, 50),
        "latency_ms_p99": percentile_ms(total, 99),
        "search_ms_p50": percentile_ms([o.search_seconds or 0.0 for o in searched], 50),
        "answer_ms_p50": percentile_ms([o.answer_seconds for o in searched], 50),
        "ingest_seconds": round(ingest_seconds, 2),
    }


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def failures(outcomes: Sequence[Outcome]) -> list[tuple[str, int]]:
    """The errors met, most frequent first, with how many answers each cost."""
    return Counter(o.error for o in outcomes if o.error is not None).most_common()
