"""Pure scoring functions: ranking metrics (nDCG, recall, MRR), latency percentiles, shares, answer matching,
and overlap with a gold passage (token F1, ROUGE-L)."""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

_MARKER = re.compile(r"\[\d+\]")
_ARTICLE = re.compile(r"\b(a|an|the)\b")
_INITIALISM = re.compile(r"\b(?:[^\W\d_]\.){2,}")


def ndcg_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    dcg = sum(grades.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], grades: dict[str, int], k: int = 100) -> float:
    relevant = {d for d, g in grades.items() if g > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at(ranked: list[str], grades: dict[str, int], k: int = 10) -> float:
    return next((1.0 / (i + 1) for i, d in enumerate(ranked[:k]) if grades.get(d, 0) > 0), 0.0)


def percentile_ms(seconds: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(seconds) * 1000, q)), 2) if seconds else 0.0


def rate(part: float, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


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


def answer_tokens(text: str) -> list[str]:
    """The words of a text as the overlap scores compare them: normalised, citation markers dropped."""
    return normalise(_MARKER.sub(" ", text)).split()


def token_f1(answer: str, gold: str) -> float:
    """SQuAD's token F1: the harmonic mean of the shares of the answer's and the gold text's words that the
    other holds (counted with multiplicity)."""
    ours, theirs = answer_tokens(answer), answer_tokens(gold)
    common = sum((Counter(ours) & Counter(theirs)).values())
    if not common:
        return 0.0
    precision, recall = common / len(ours), common / len(theirs)
    return 2 * precision * recall / (precision + recall)


def rouge_l(answer: str, gold: str) -> float:
    """ROUGE-L F-measure: the longest common subsequence of words, as a share of each text, combined."""
    ours, theirs = answer_tokens(answer), answer_tokens(gold)
    common = _lcs(ours, theirs)
    if not common:
        return 0.0
    precision, recall = common / len(ours), common / len(theirs)
    return 2 * precision * recall / (precision + recall)


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    previous = [0] * (len(b) + 1)
    for word in a:
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if word == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def overlaps(passage: str, gold: str, share: float = 0.5) -> bool:
    """Whether at least `share` of a passage's distinct words are words of the gold text: the passage is
    (part of) the gold passage, or a near copy of it."""
    words, gold_words = set(answer_tokens(passage)), set(answer_tokens(gold))
    return bool(words) and len(words & gold_words) >= share * len(words)
