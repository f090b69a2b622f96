"""Snippets: the window of a chunk that best matches the query, with the matched words located."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"\w+", re.UNICODE)
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
    if text.isascii():  # ASCII case-folding is lowercasing, which keeps offsets: compare whole lowered words
        return _ascii_matches(text.lower(), stems)
    return [(m.start(), m.end()) for m in _WORD.finditer(text) if _stem(m.group()) in stems]


def _ascii_matches(lowered: str, stems: set[str]) -> list[tuple[int, int]]:
    """The words of `lowered` that start with a query stem (found by the regex engine's literal search, not by
    reading every word) and share its stem: every such word is a stem plus a suffix."""
    forms = _surface_forms(frozenset(stems))
    spans = set()  # a word can start with two stems ("cell", "cel")
    for stem in stems:
        if not (stem.isascii() and _WORD.fullmatch(stem)):  # no ASCII word has it as its stem ("⑴" is "(1)")
            continue
        for match in _starting_with(stem).finditer(lowered):
            word = match.group()
            if word in forms and _stem(word) in stems:
                spans.add(match.span())
    return sorted(spans)


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
