"""The `extractive` provider: answers with the passages' own sentences, each cited, and no model at all.

Every sentence of every passage is scored against the question's topic terms (those of the standalone query,
so follow-ups work): the share of the terms it contains, weighted by how rare each term is among the passages'
sentences, with half credit for terms found only in its passage's title or headings, and small bonuses for a
better-ranked passage and for opening it; a sentence opening with a pronoun inherits part of the score of the
one before it, and questions asking "when" or "how many" favour sentences with numbers. The best sentences that are not near-duplicates of one already taken
fill a small budget, best first, each followed by its passage's [n]. When no sentence contains enough of the
question's terms (`RELEVANCE_THRESHOLD` of them, or `MIN_MATCHED_TERMS`; calibrated in docs/answers.md) it
abstains.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lore.answers.citations import MARKER
from lore.answers.followup import standalone_query
from lore.answers.prompt import ABSTENTION
from lore.answers.terms import content_terms, term_set
from lore.answers.types import AnswerRequest, Completion, ProviderEvent, TextDelta
from lore.core.splitting import sentences
from lore.models import Hit

RELEVANCE_THRESHOLD = 0.4  # share of the question's terms the best sentence must hold (see docs/answers.md)
MIN_MATCHED_TERMS = 3.0  # ... or this many of them, for long questions (claims, pasted error reports)
CONTEXT_CREDIT = 0.5  # a term found only in the passage's title or headings counts half
CARRIED_CREDIT = 0.5  # weight of a term carried from earlier turns, next to the question's own
MAX_SENTENCES = 3
MAX_WORDS = 120
MIN_WORDS = 3
NEAR_DUPLICATE = 0.6  # Jaccard overlap of term sets above which a sentence repeats one already chosen
KEEP_RATIO = 0.5  # a further sentence must score at least this share of the best one
CONTINUATION_CREDIT = 0.4
NUMBER_BONUS = 0.1  # "when", "how many", "what year": a sentence with a number more likely holds the answer
RANK_BONUS = 0.05
OPENING_BONUS = 0.03


_CONTINUATION = re.compile(r"(?:it|its|this|these|that|they|their|he|his|she|her|such)\b", re.IGNORECASE)
_NUMERIC_QUESTION = re.compile(
    r"\b(?:when|how (?:many|much|long|old|far|often)|what (?:year|date|percentage))\b", re.I
)
_NUMBER = re.compile(r"\d")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")  # a list item's marker does not belong in a sentence


@dataclass(frozen=True, slots=True)
class Sentence:
    passage: int  # 1-based, the [n] that cites it
    position: int  # within its passage
    text: str
    terms: frozenset[str]
    context: frozenset[str]  # terms of the passage's title and headings


@dataclass(frozen=True, slots=True)
class Scored:
    sentence: Sentence
    relevance: float  # unweighted share of the question's terms: the abstention signal
    matched: float  # how many of them it holds (title and heading terms count half)
    score: float  # weighted, with bonuses: the ranking signal


def relevant(item: Scored, threshold: float = RELEVANCE_THRESHOLD) -> bool:
    """Whether a sentence holds enough of the question to answer from: a share, or a count for long questions."""
    return item.relevance >= threshold or item.matched >= MIN_MATCHED_TERMS


class Extractive:
    """Offline provider: selects, orders and cites sentences of the retrieved passages."""

    name = "extractive"
    model = "extractive-1"

    def stream(self, request: AnswerRequest) -> Iterator[ProviderEvent]:
        chosen = select(rank(request))
        prompt_tokens = _words(request.question) + sum(_words(hit.chunk.text) for hit in request.passages)
        if not chosen:
            yield TextDelta(ABSTENTION)
            yield Completion(ABSTENTION, self.model, prompt_tokens, _words(ABSTENTION), abstained=True)
            return
        pieces = [cited(item.sentence) for item in chosen]
        for i, piece in enumerate(pieces):
            yield TextDelta(piece if i == 0 else f" {piece}")
        text = " ".join(pieces)
        yield Completion(text, self.model, prompt_tokens, _words(text), abstained=False)


def cited(sentence: Sentence) -> str:
    """The sentence with its passage's marker before its closing punctuation: "... five days [1]."; bracketed
    numbers of the source text (footnotes, examples) become parenthesised, so the only [n] are Lore's own, and
    a list item loses its bullet."""
    text = MARKER.sub(r"(\1)", _BULLET.sub("", sentence.text.rstrip()))
    body, end = (text[:-1], text[-1]) if text[-1] in ".!?" else (text, "")
    return f"{body.rstrip()} [{sentence.passage}]{end}"


def rank(request: AnswerRequest) -> list[Scored]:
    """Every sentence of the passages, scored against the question, best first."""
    own = content_terms(request.question)
    query = content_terms(standalone_query(request.question, request.history))
    candidates = split_passages(request.passages)
    if not query or not candidates:
        return []
    weights = _rarity(query, candidates)
    for term in set(query) - set(own):
        weights[term] *= CARRIED_CREDIT
    scored = [_score(sentence, own or query, query, weights) for sentence in candidates]
    scored = _carry_into_continuations(scored)
    if _NUMERIC_QUESTION.search(request.question):
        scored = [
            _with_bonus(item, NUMBER_BONUS) if _NUMBER.search(item.sentence.text) else item for item in scored
        ]
    return sorted(scored, key=lambda item: item.score, reverse=True)


def _carry_into_continuations(scored: list[Scored]) -> list[Scored]:
    """A sentence that opens with a pronoun ("It is also known as ...") continues the one before it: it
    inherits part of that sentence's match."""
    result = list(scored)
    for i in range(1, len(scored)):
        previous, item = scored[i - 1], scored[i]
        same_passage = previous.sentence.passage == item.sentence.passage
        if same_passage and _CONTINUATION.match(item.sentence.text):
            result[i] = _with_bonus(item, CONTINUATION_CREDIT * previous.score)
    return result


def _with_bonus(item: Scored, bonus: float) -> Scored:
    return Scored(item.sentence, item.relevance, item.matched, item.score + bonus)


def select(ranked: Sequence[Scored]) -> list[Scored]:
    """The best sentences within the budget, dropping near-duplicates; empty when none is relevant enough."""
    if not any(relevant(item) for item in ranked):
        return []
    chosen = [ranked[0]]
    words = _words(ranked[0].sentence.text)
    for item in ranked[1:]:
        if len(chosen) == MAX_SENTENCES or item.score < KEEP_RATIO * ranked[0].score:
            break
        size = _words(item.sentence.text)
        if words + size > MAX_WORDS or _repeats(item, chosen):
            continue
        chosen.append(item)
        words += size
    return chosen


def split_passages(passages: Sequence[Hit]) -> list[Sentence]:
    result: list[Sentence] = []
    for number, hit in enumerate(passages, start=1):
        context = frozenset(term_set(" ".join([hit.chunk.title, *hit.chunk.heading_path])))
        units = [s for line in hit.chunk.text.splitlines() for s, _ in sentences(line)]
        kept = [unit for unit in units if _words(unit) >= MIN_WORDS]
        result.extend(
            Sentence(number, position, text, frozenset(term_set(text)), context)
            for position, text in enumerate(kept)
        )
    return result


def _rarity(query: Sequence[str], candidates: Sequence[Sentence]) -> dict[str, float]:
    """Inverse sentence frequency of each query term among the candidates: a term every sentence shares
    tells them apart less than a term only one holds."""
    total = len(candidates)
    return {
        term: math.log(1 + (total + 1) / (1 + sum(term in s.terms for s in candidates))) for term in query
    }


def _score(
    sentence: Sentence, asked: Sequence[str], query: Sequence[str], weights: dict[str, float]
) -> Scored:
    """Relevance counts the terms the question itself asks about (a follow-up that names none borrows the
    conversation's); the score counts every query term, those carried from earlier turns at reduced weight."""
    matched = _matches(sentence, asked)
    in_text = [term for term in query if term in sentence.terms]
    in_context = [term for term in query if term in sentence.context and term not in sentence.terms]
    weighted = sum(weights[t] for t in in_text) + CONTEXT_CREDIT * sum(weights[t] for t in in_context)
    score = weighted / sum(weights.values())
    score += RANK_BONUS / sentence.passage + (OPENING_BONUS if sentence.position == 0 else 0.0)
    return Scored(sentence, matched / len(asked), matched, score)


def _matches(sentence: Sentence, terms: Sequence[str]) -> float:
    in_text = sum(term in sentence.terms for term in terms)
    in_context = sum(term in sentence.context and term not in sentence.terms for term in terms)
    return in_text + CONTEXT_CREDIT * in_context


def _repeats(item: Scored, chosen: Sequence[Scored]) -> bool:
    terms = item.sentence.terms
    return any(
        len(terms & other.sentence.terms) / max(1, len(terms | other.sentence.terms)) > NEAR_DUPLICATE
        for other in chosen
    )


def _words(text: str) -> int:
    return len(text.split())
