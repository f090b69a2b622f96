"""Snippets: the window of a chunk that best matches the query, with the matched words located."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"\w+", re.UNICODE)
_NON_ASCII_WORD_CHAR = re.compile(r"[^\W\x00-\x7f]")
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s")


@dataclass(frozen=True, slots=True)
class Snippet:
    text: str
    highlights: list[tuple[int, int]]  # [start, end) character offsets into `text`


@lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    word = unicodedata.normalize("NFKC", word).casefold()
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _matches(text: str, stems: set[str]) -> list[tuple[int, int]]:
    """The words of `text` that share a stem with the query. ASCII words are found by their stems (ASCII
    case-folding is lowercasing, which keeps offsets); only words with other characters are read one by one."""
    if text.isascii():
        return _ascii_matches(text.lower(), stems)
    masked = text.encode("ascii", "replace").decode("ascii").lower()  # "?" for each other character
    ascii_words = [span for span in _ascii_matches(masked, stems) if _whole_word(text, *span)]
    return sorted(ascii_words + _other_words(text, stems))


def _whole_word(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is not part of a longer word (a masked character may have been a letter)."""
    return not (start and _WORD.match(text, start - 1, start)) and not _WORD.match(text, end, end + 1)


def _other_words(text: str, stems: set[str]) -> list[tuple[int, int]]:
    """The words holding a non-ASCII character whose stem is a query stem."""
    spans = []
    end = 0
    for found in _NON_ASCII_WORD_CHAR.finditer(text):
        if found.start() < end:
            continue  # in the word just read
        start = found.start()
        while start and _WORD.match(text, start - 1, start):
            start -= 1
        word = _WORD.match(text, start)
        assert word is not None  # text[found.start()] is a word character
        end = word.end()
        if _stem(word.group()) in stems:
            spans.append(word.span())
    return spans


def _ascii_matches(lowered: str, stems: set[str]) -> list[tuple[int, int]]:
    """The words of `lowered` that start with a query stem (found by the regex engine's literal search, not by
    reading every word) and share its stem: every such word is a stem plus a suffix."""
    patterns, words = _ascii_plan(frozenset(stems))
    spans = [
        match.span() for pattern in patterns for match in pattern.finditer(lowered) if match.group() in words
    ]
    return sorted(set(spans))  # a word can start with two stems ("cell", "cel")


@lru_cache(maxsize=1024)
def _ascii_plan(stems: frozenset[str]) -> tuple[list[re.Pattern[str]], frozenset[str]]:
    """The patterns of the whole words starting with each stem an ASCII word can have (not "(1)", which "⑴"
    is), and the words among them to mark: those whose own stem is a query stem."""
    usable = [stem for stem in sorted(stems) if stem.isascii() and _WORD.fullmatch(stem)]
    words = frozenset(form for form in _surface_forms(stems) if _stem(form) in stems)
    return [_starting_with(stem) for stem in usable], words


@lru_cache(maxsize=4096)
def _starting_with(stem: str) -> re.Pattern[str]:
    """The whole words starting with `stem`: the stem, not preceded by a word character, then the word's rest."""
    literal = re.escape(stem)
    return re.compile(rf"{literal}(?<!\w{literal})\w*")


@lru_cache(maxsize=1024)
def _surface_forms(stems: frozenset[str]) -> frozenset[str]:
    """Every stem alone and with each suffix: a superset of the lowercase words whose stem is one of `stems`."""
    return frozenset(stem + suffix for stem in stems for suffix in ("", *_SUFFIXES))


def _best_window(text: str, spans: list[tuple[int, int]], width: int) -> tuple[int, int]:
    """Character window of about `width` chars holding the most matches, snapped to word boundaries."""
    if len(text) <= width:
        return 0, len(text)
    spans = spans or [(0, 0)]
    ends = [end for _start, end in spans]  # spans do not overlap: ends are sorted as starts are
    best_start, best_count = 0, -1
    for i, (start, _end) in enumerate(spans):
        count = bisect_right(ends, start + width) - i
        if count > best_count:
            best_start, best_count = start, count
    start = max(0, best_start - width // 5)
    start = text.rfind(" ", 0, start) + 1 if start else 0
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    return start, end


def make_snippet(text: str, query: str, width: int = 300) -> Snippet:
    """The most query-dense window of `text`; words sharing a stem with a query word are highlighted."""
    return snippet_of(text, query_stems(query), width)


def query_stems(query: str) -> set[str]:
    """The stems of a query's words: what `snippet_of` highlights (computed once for all of a search's hits)."""
    return {_stem(w) for w in _WORD.findall(query)}


def snippet_of(text: str, stems: set[str], width: int = 300) -> Snippet:
    """`make_snippet` of a query given by its `query_stems`."""
    text = " ".join(text.split())
    spans = _matches(text, stems)
    start, end = _best_window(text, spans, width)
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    shift = len(prefix) - start
    highlights = [(s + shift, e + shift) for s, e in spans if s >= start and e <= end]
    return Snippet(prefix + text[start:end] + suffix, highlights)
