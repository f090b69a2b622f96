"""The `extractive` provider: answers with the passages' own sentences, each cited, and no model at all.

1. Whether to answer at all comes from retrieval evidence (`lore.answers.evidence`: the best passage's
   calibrated similarity, keyword and vector agreement, the share of the question the passage covers), when the
   embedding model has a calibration; otherwise from the term rule below.
2. A question asking how to do something, over a passage that is a procedure (numbered steps) near the top,
   is answered with the steps, in document order.
3. Otherwise every prose sentence and list item (never code lines, table rows, headings or sentences about the
   article itself: `lore.answers.units`) is scored by its semantic similarity to the question (with the
   embedding model that embedded the passages) and by term evidence (the share of the question's topic terms
   it holds, weighted by rarity, title and heading terms at half credit), times a weight for its passage's
   retrieval rank. The best sentence's passage answers: up to two more of its sentences that score nearly as
   well, in document order, then another passage's sentence only if it scores almost as well as the best.
4. Term rule, without a calibration: abstain when no sentence holds `RELEVANCE_THRESHOLD` of the question's
   terms (or `MIN_MATCHED_TERMS` of them, for long questions).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from lore.answers.citations import MARKER
from lore.answers.evidence import calibration_for, coverage, evidence
from lore.answers.followup import standalone_query
from lore.answers.prompt import ABSTENTION
from lore.answers.terms import content_terms, term_set
from lore.answers.types import AnswerRequest, Completion, ProviderEvent, TextDelta
from lore.answers.units import ANSWERABLE, Unit, units_of
from lore.answers.vectors import SentenceVectors
from lore.models import Hit

RELEVANCE_THRESHOLD = 0.4  # term rule: share of the question's terms the best sentence must hold
MIN_MATCHED_TERMS = 3.0  # ... or this many of them, for long questions (claims, pasted error reports)
CONTEXT_CREDIT = 0.5  # a term found only in the passage's title or headings counts half
CARRIED_CREDIT = 0.5  # weight of a term carried from earlier turns, next to the question's own
MAX_SENTENCES = 3
MAX_WORDS = 90
MAX_STEPS = 10
MIN_WORDS = 3
NEAR_DUPLICATE = 0.6  # Jaccard overlap of term sets above which a sentence repeats one already chosen
KEEP_RATIO = 0.75  # a further sentence of the answering passage must score this share of the best one
OTHER_PASSAGE_RATIO = 0.9  # ... and one of another passage this share
SEMANTIC_WEIGHT = 0.5  # the sentence's cosine to the question, next to its term evidence
RANK_DECAY = 0.1  # passage n weighs 1 / (1 + RANK_DECAY * (n - 1)): the fifth passage counts 0.71
DANGLING = 0.7  # a sentence ending with ":" introduces something it does not show
CONTINUATION_CREDIT = 0.4
NUMBER_BONUS = 0.25  # "when", "how many", "what year": a sentence with a number more likely holds the answer
OPENING_BONUS = 0.03
MAX_EMBEDDED = 8  # sentences compared semantically, the best by term evidence and rank
PROCEDURE_MARGIN = 0.1  # a procedure answers if its cosine is this close to the best passage's
PROCEDURE_COVERAGE = 0.5  # ... and it (with its headings) holds this share of the question's terms
MAX_CODE_LINES = 3
FAQ_MATCH = 0.55  # cosine of the question to an FAQ entry's own question above which that entry answers,
FAQ_SURE = 0.7  # ... if both ask the same kind of question, or in any case above this

SENTENCE_VECTORS = SentenceVectors()  # the passages of popular articles come back: embed their sentences once

_CONTINUATION = re.compile(r"(?:it|its|this|these|that|they|their|he|his|she|her|such)\b", re.IGNORECASE)
_NUMERIC_QUESTION = re.compile(
    r"\b(?:when|how (?:many|much|long|old|far|often)|what (?:year|date|percentage))\b", re.I
)
_HOW_TO = re.compile(
    r"\bhow (?:do|can|should|would|could|must) (?:i|we|you|one|users?)\b|\bhow to\b|"
    r"\b(?:steps?|procedure|instructions)\b|\bwhat do i (?:do|need to do)\b",
    re.I,
)
_COMMAND_QUESTION = re.compile(r"\b(?:command|commands|cli|terminal|shell|run|type|script|code)\b", re.I)
_QUESTION_KIND = {
    **dict.fromkeys(["how"], "how"),
    **dict.fromkeys(["what", "which"], "what"),
    **dict.fromkeys(["can", "could", "do", "does", "did", "is", "are", "will", "should", "may"], "yes-no"),
    **{word: word for word in ("why", "where", "when", "who")},
}
_NUMBER = re.compile(  # a figure, a number word or a unit of time: what "how long" or "when" asks for
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|hundred|thousand|million|"
    r"billion|dozen|seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Sentence:
    passage: int  # 1-based, the [n] that cites it
    position: int  # index of its unit within its passage
    text: str
    terms: frozenset[str]
    context: frozenset[str]  # terms of the passage's title and headings


@dataclass(frozen=True, slots=True)
class Scored:
    sentence: Sentence
    relevance: float  # unweighted share of the question's terms: the term rule's signal
    matched: float  # how many of them it holds (title and heading terms count half)
    score: float  # the ranking signal


@dataclass(frozen=True, slots=True)
class Piece:
    """A cited sentence or step of the answer and what separates it from the previous piece."""

    text: str
    separator: str = " "


def relevant(item: Scored, threshold: float = RELEVANCE_THRESHOLD) -> bool:
    """Whether a sentence holds enough of the question to answer from: a share, or a count for long questions."""
    return item.relevance >= threshold or item.matched >= MIN_MATCHED_TERMS


class Extractive:
    """Offline provider: selects, orders and cites sentences (or a procedure's steps) of the passages."""

    name = "extractive"
    model = "extractive-1"

    def stream(self, request: AnswerRequest) -> Iterator[ProviderEvent]:
        pieces = compose(request)
        prompt_tokens = _words(request.question) + sum(_words(hit.chunk.text) for hit in request.passages)
        if not pieces:
            yield TextDelta(ABSTENTION)
            yield Completion(ABSTENTION, self.model, prompt_tokens, _words(ABSTENTION), abstained=True)
            return
        parts = [piece.text if i == 0 else piece.separator + piece.text for i, piece in enumerate(pieces)]
        parts = _within(parts, request.max_tokens)
        for part in parts:
            yield TextDelta(part)
        text = "".join(parts)
        yield Completion(text, self.model, prompt_tokens, _words(text), abstained=False)


def _within(parts: list[str], max_tokens: int | None) -> list[str]:
    """The parts, or their first `max_tokens` words (the provider's tokens) when the request sets a limit."""
    text = "".join(parts)
    if max_tokens is None or _words(text) <= max_tokens:
        return parts
    pieces = re.split(r"(\s+)", text.strip())  # words at even positions, the spaces between at odd ones
    return ["".join(pieces[: 2 * max_tokens - 1])]


def compose(request: AnswerRequest) -> list[Piece]:
    """The answer's pieces; none when the passages do not answer the question."""
    units = [_units(hit) for hit in request.passages]
    ranked = rank(request, units)
    if not ranked or not _answerable(request, ranked):
        return []
    how_to = bool(_HOW_TO.search(request.question))
    steps = procedure(request, units) if how_to else []
    if steps:
        return steps
    faq = faq_entry(request, units)
    if faq:
        return faq
    chosen = select(_with_semantics(request, ranked))
    return _with_code(request, chosen, units)


def _answerable(request: AnswerRequest, ranked: Sequence[Scored]) -> bool:
    calibration = calibration_for(request.embedder.model_id) if request.embedder is not None else None
    asked = standalone_query(request.question, request.history)  # a follow-up's evidence includes its topic
    signals = evidence(asked, request.passages) if calibration is not None else None
    if calibration is None or signals is None:
        return any(relevant(item) for item in ranked)
    return calibration.answerable(signals)


def _units(hit: Hit) -> list[Unit]:
    return units_of(hit.chunk.text, (hit.chunk.title, *hit.chunk.heading_path))


# --- procedures ------------------------------------------------------------------------------------------


def procedure(request: AnswerRequest, units: Sequence[Sequence[Unit]]) -> list[Piece]:
    """The steps of the best procedure among the passages near the top, in document order, with the sentence
    that introduces them; none when no such passage covers the question."""
    cosines = [hit.vector_score for hit in request.passages]
    best = max((c for c in cosines if c is not None), default=None)
    for number, (hit, passage) in enumerate(zip(request.passages, units, strict=True), start=1):
        steps = [unit for unit in passage if unit.kind == "step"]
        close = best is None or (hit.vector_score or 0.0) >= best - PROCEDURE_MARGIN
        if len(steps) >= 2 and close and coverage(request.question, hit) >= PROCEDURE_COVERAGE:
            return _steps(passage, number)
    return []


def _steps(passage: Sequence[Unit], number: int) -> list[Piece]:
    first = next(i for i, unit in enumerate(passage) if unit.kind == "step")
    pieces = []
    lead = passage[first - 1] if first else None
    if lead is not None and lead.kind == "prose" and lead.text.rstrip().endswith(":"):
        pieces.append(Piece(lead.text))
    steps = [unit for unit in passage[first:] if unit.kind == "step"][:MAX_STEPS]
    for i, step in enumerate(steps, start=1):
        separator = "\n" if pieces else ""
        pieces.append(Piece(f"{i}. {cite(step.text, number)}", separator))
    return pieces


# --- frequently asked questions --------------------------------------------------------------------------


def faq_entry(request: AnswerRequest, units: Sequence[Sequence[Unit]]) -> list[Piece]:
    """A passage under a heading that asks the user's question in other words ("Why is my PDF not
    searchable?") is the answer written for it: its sentences, in order, within the budget."""
    embedder = request.embedder
    entries = [
        (number, hit.chunk.heading_path[-1])
        for number, hit in enumerate(request.passages, start=1)
        if hit.chunk.heading_path and hit.chunk.heading_path[-1].rstrip().endswith("?")
    ]
    if embedder is None or not entries:
        return []
    vectors = SENTENCE_VECTORS.embed(embedder, [request.question, *(heading for _, heading in entries)])
    similarity = np.asarray(vectors[1:] @ vectors[0], dtype=float)
    best = int(similarity.argmax())
    number, heading = entries[best]
    close = similarity[best] >= FAQ_SURE or (
        similarity[best] >= FAQ_MATCH and _asks_alike(request.question, heading)
    )
    if not close:
        return []
    pieces: list[Piece] = []
    words = 0
    for unit in units[number - 1]:
        if unit.kind not in ANSWERABLE or (pieces and words + _words(unit.text) > MAX_WORDS):
            continue
        pieces.append(Piece(cite(unit.text, number)))
        words += _words(unit.text)
    return pieces


def _asks_alike(question: str, heading: str) -> bool:
    """Whether two questions ask the same kind of thing (how, what, yes or no, why ...): "How do I add
    documents?" is close to "What is Lore?" in meaning, but the entry does not answer it."""
    kind = _kind(question)
    return kind is not None and kind == _kind(heading)


def _kind(question: str) -> str | None:
    words = question.split()
    return _QUESTION_KIND.get(words[0].lower()) if words else None


# --- sentences -------------------------------------------------------------------------------------------


def cite(text: str, passage: int) -> str:
    """The text with its passage's marker before its closing punctuation: "... five days [1]."; bracketed
    numbers of the source text (footnotes, examples) become parenthesised, so the only [n] are Lore's own."""
    text = MARKER.sub(r"(\1)", text.rstrip())
    body, end = (text[:-1], text[-1]) if text[-1] in ".!?:" else (text, "")
    return f"{body.rstrip()} [{passage}]{end}"


def rank(request: AnswerRequest, units: Sequence[Sequence[Unit]] | None = None) -> list[Scored]:
    """Every answerable sentence of the passages, scored by term evidence and rank, best first."""
    own = content_terms(request.question)
    query = content_terms(standalone_query(request.question, request.history))
    if units is None:
        units = [_units(hit) for hit in request.passages]
    candidates = split_passages(request.passages, units)
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
    scored = [replace(item, score=item.score * _rank_weight(item.sentence.passage)) for item in scored]
    if not _wants_code(request.question):
        scored = [_dangling(item) for item in scored]
    return sorted(scored, key=lambda item: item.score, reverse=True)


def _rank_weight(passage: int) -> float:
    return 1.0 / (1.0 + RANK_DECAY * (passage - 1))


def _dangling(item: Scored) -> Scored:
    return replace(item, score=item.score * DANGLING) if item.sentence.text.endswith(":") else item


def _with_semantics(request: AnswerRequest, ranked: list[Scored]) -> list[Scored]:
    """The ranking with each sentence's cosine to the question blended in (the best `MAX_EMBEDDED` by term
    evidence are compared; the rest keep the lowest cosine seen), when the embedding model is known."""
    embedder = request.embedder
    if embedder is None or not ranked:
        return ranked
    head = ranked[:MAX_EMBEDDED]
    vectors = SENTENCE_VECTORS.embed(embedder, [request.question, *(item.sentence.text for item in head)])
    cosines = np.asarray(vectors[1:] @ vectors[0], dtype=float)
    floor = float(cosines.min())
    blended = [_blend(item, float(cosines[i]) if i < len(head) else floor) for i, item in enumerate(ranked)]
    return sorted(blended, key=lambda item: item.score, reverse=True)


def _blend(item: Scored, cosine: float) -> Scored:
    weight = _rank_weight(item.sentence.passage)
    semantic = max(0.0, cosine) * weight
    return replace(item, score=(1 - SEMANTIC_WEIGHT) * item.score + SEMANTIC_WEIGHT * semantic)


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
    return replace(item, score=item.score + bonus)


def select(ranked: Sequence[Scored]) -> list[Scored]:
    """The best sentence, up to two more of its passage that score nearly as well and one of another passage
    that scores almost as well, within the budget and without near-duplicates; the best passage's first,
    each passage's in document order."""
    if not ranked:
        return []
    best = ranked[0]
    chosen = [best]
    words = _words(best.sentence.text)
    for item in ranked[1:]:
        same = item.sentence.passage == best.sentence.passage
        ratio = KEEP_RATIO if same else OTHER_PASSAGE_RATIO
        if len(chosen) == MAX_SENTENCES:
            break
        if item.score < ratio * best.score and not _continues(item, chosen):
            continue
        size = _words(item.sentence.text)
        if words + size > MAX_WORDS or _repeats(item, chosen):
            continue
        chosen.append(item)
        words += size
    first = best.sentence.passage
    return sorted(
        chosen, key=lambda i: (i.sentence.passage != first, i.sentence.passage, i.sentence.position)
    )


def _continues(item: Scored, chosen: Sequence[Scored]) -> bool:
    """Whether the sentence opens with a pronoun right after a chosen one ("It is also known as ...")."""
    sentence = item.sentence
    return bool(_CONTINUATION.match(sentence.text)) and any(
        other.sentence.passage == sentence.passage and other.sentence.position == sentence.position - 1
        for other in chosen
    )


def _with_code(
    request: AnswerRequest, chosen: Sequence[Scored], units: Sequence[Sequence[Unit]]
) -> list[Piece]:
    """The chosen sentences as cited pieces; a question asking for a command, or how to do something, also
    gets the code lines that follow a sentence introducing them ("Point lore ingest at a folder:")."""
    wants_code = _wants_code(request.question)
    pieces: list[Piece] = []
    for item in chosen:
        sentence = item.sentence
        after_code = bool(pieces) and pieces[-1].text.startswith("`")
        pieces.append(Piece(cite(sentence.text, sentence.passage), "\n" if after_code else " "))
        if wants_code and sentence.text.endswith(":"):
            code = _code_after(units[sentence.passage - 1], sentence.position)
            pieces.extend(Piece(f"`{line}`", "\n") for line in code)
    return pieces


def _code_after(passage: Sequence[Unit], position: int) -> list[str]:
    code: list[str] = []
    for unit in passage[position + 1 :]:
        if unit.kind != "code" or len(code) == MAX_CODE_LINES:
            break
        code.append(unit.text)
    return code


def _wants_code(question: str) -> bool:
    return bool(_COMMAND_QUESTION.search(question) or _HOW_TO.search(question))


def split_passages(passages: Sequence[Hit], units: Sequence[Sequence[Unit]]) -> list[Sentence]:
    """The answerable units of every passage, as sentences to score."""
    result: list[Sentence] = []
    for number, (hit, passage) in enumerate(zip(passages, units, strict=True), start=1):
        context = frozenset(term_set(" ".join([hit.chunk.title, *hit.chunk.heading_path])))
        result.extend(
            Sentence(number, position, unit.text, frozenset(term_set(unit.text)), context)
            for position, unit in enumerate(passage)
            if unit.kind in ANSWERABLE and _words(unit.text) >= MIN_WORDS
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
    score = weighted / sum(weights.values()) + (OPENING_BONUS if sentence.position == 0 else 0.0)
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
