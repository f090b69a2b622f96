"""Text normalisation for the keyword index, shared by every store backend so they tokenise alike.

Words are NFKC-normalised, case-folded runs of letters, digits and combining marks (so Thai, Hindi and other
scripts with vowel signs stay whole). Scripts written without spaces between words (Chinese, Japanese kana,
Thai, Lao, Khmer, Myanmar) have no word boundaries to find, so their runs become overlapping two-character
terms: a query's bigrams then match the same bigrams inside any longer text.

    >>> index_text("Reset the password: 重置密码")
    'reset the password 重置 置密 密码'
    >>> query_terms("How to reset the password?")
    ['reset', 'password']
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import NamedTuple

# Blocks of scripts written without spaces between words. Hangul is written with spaces: not listed.
_UNSPACED_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),  # ideographic iteration mark, closing mark, number zero
    (0x3021, 0x3029),  # Hangzhou numerals
    (0x3031, 0x3035),  # kana repeat marks
    (0x3038, 0x303C),
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA9E0, 0xA9FF),  # Myanmar extended B
    (0xAA60, 0xAA7F),  # Myanmar extended A
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x1B000, 0x1B16F),  # kana supplement and extensions
    (0x20000, 0x323AF),  # CJK extensions B to H
)
_WHOLE_BLOCK = 0x1000  # blocks this large are all ideographs or kana: no need to check each one
_MARK_SCAN_LIMIT = 0x20000  # every combining mark in use lies below, except the variation selectors below
_VARIATION_SELECTORS = (0xE0100, 0xE01EF)

# English function words (the NLTK list), dropped from queries when other terms remain. Measured with
# bench/keyword_baseline.py against no list and Lucene's 33 words: the best mean nDCG@10 over the seven sets
# (cranfield +0.012), within 0.003 elsewhere, and the fastest: frequent terms have the longest posting lists.
_STOP_WORD_TEXT = """
a about above after again against all am an and any are as at be because been before being below between both
but by can did do does doing don down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on
once only or other our ours ourselves out over own s same she should so some such t than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when where
which while who whom why will with you your yours yourself yourselves
"""
STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())
MAX_QUERY_TERMS = 64  # bounds the cost of a pasted page of text used as a query


def _char_class(ranges: Iterable[tuple[int, int]]) -> str:
    """A regex character class body for inclusive code point ranges."""
    return "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in ranges
    )


def _runs(code_points: Iterable[int]) -> list[tuple[int, int]]:
    """Collapse sorted code points into inclusive ranges."""
    ranges: list[tuple[int, int]] = []
    for cp in code_points:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    return ranges


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LMN"


def _mark_ranges() -> list[tuple[int, int]]:
    marks = (cp for cp in range(_MARK_SCAN_LIMIT) if unicodedata.category(chr(cp))[0] == "M")
    return [*_runs(marks), _VARIATION_SELECTORS]


def _unspaced_ranges() -> list[tuple[int, int]]:
    """Letters, marks and digits of the unspaced blocks; large ideograph blocks are taken whole (fast)."""
    code_points = (
        cp
        for lo, hi in _UNSPACED_BLOCKS
        for cp in range(lo, hi + 1)
        if hi - lo >= _WHOLE_BLOCK or _is_word_char(chr(cp))
    )
    return _runs(code_points)


class _Patterns(NamedTuple):
    word: re.Pattern[str]
    unspaced_run: re.Pattern[str]
    cluster: re.Pattern[str]


@functools.cache
def _patterns() -> _Patterns:
    """Compiled on first use: scanning Unicode for marks costs ~20 ms, which imports should not pay."""
    marks = _char_class(_mark_ranges())
    return _Patterns(
        word=re.compile(f"(?:[^\\W_]|[{marks}])+"),
        unspaced_run=re.compile(f"([{_char_class(_unspaced_ranges())}]+)"),
        cluster=re.compile(f".[{marks}]*", re.DOTALL),  # a base character with its combining marks
    )


def _bigrams(run: str) -> list[str]:
    """Overlapping pairs of characters (with their marks); a lone character stays itself."""
    chars = _patterns().cluster.findall(run)
    if len(chars) < 2:
        return chars
    return [a + b for a, b in itertools.pairwise(chars)]


def _split_word(word: str, unspaced_run: re.Pattern[str]) -> Iterator[str]:
    for i, part in enumerate(unspaced_run.split(word)):
        if i % 2:  # odd parts are the captured unspaced runs
            yield from _bigrams(part)
        elif part:
            yield part


def tokens(text: str) -> list[str]:
    """The terms of a text, in order, as the keyword index sees them."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    patterns = _patterns()
    words = patterns.word.findall(folded)
    if not patterns.unspaced_run.search(folded):  # the common case, and ten times faster
        return words
    return [term for word in words for term in _split_word(word, patterns.unspaced_run)]


def index_text(text: str) -> str:
    """The text to store in a keyword index: its terms joined by single spaces."""
    return " ".join(tokens(text))


def query_terms(query: str) -> list[str]:
    """Distinct terms of a query, in order; stop words go unless nothing else would remain."""
    distinct = list(dict.fromkeys(tokens(query)))
    topical = [term for term in distinct if term not in STOP_WORDS]
    return (topical or distinct)[:MAX_QUERY_TERMS]
