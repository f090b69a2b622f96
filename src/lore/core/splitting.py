"""Cut text into ever smaller units (lines, sentences, words, characters) until each fits a token limit
and a character limit (a 1.5 MB "word" is a single unknown token, so tokens alone bound nothing).

Every unit comes with the separator that joined it to the previous one, so that joining the units back
gives the original text (with whitespace normalised). Each unit is counted once, so the work is linear in
the text's length.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

Unit = Literal["sentences", "lines", "words", "atom"]
Splitter = Callable[[str], list[tuple[str, str]]]
Counter = Callable[[str], int]

# After . ! ? or … (perhaps closed by a quote or bracket) and a space, unless a lowercase word follows
# ("e.g. this"); CJK full stops end a sentence without any space.
_SENTENCE_BREAK = re.compile(
    r"(?:(?<=[.!?\u2026])|(?<=[.!?\u2026][\"'\u201d\u2019)\]]))\s+(?![a-z])|(?<=[\u3002\uff01\uff1f])\s*",
)
# Characters per token allowed on average: English text has ~4.5 and most scripts under 6; a word of 100+
# characters is one unknown token, so blobs (and rare runs of Thai, written without spaces) go far beyond.
CHARS_PER_TOKEN_BOUND = 16


def sentences(text: str) -> list[tuple[str, str]]:
    return [(part.strip(), " ") for part in _SENTENCE_BREAK.split(text) if part.strip()]


def lines(text: str) -> list[tuple[str, str]]:
    """Non-blank lines; blank lines survive as a longer separator (code keeps its spacing)."""
    units: list[tuple[str, str]] = []
    blanks = 0
    for line in text.split("\n"):
        if line.strip():
            units.append((line.rstrip(), "\n" * (blanks + 1)))
            blanks = 0
        else:
            blanks += 1
    return units


def words(text: str) -> list[tuple[str, str]]:
    return [(word, " ") for word in text.split()]


def atom(text: str) -> list[tuple[str, str]]:
    return [(text, "")]


UNIT_SPLITTERS: dict[Unit, Splitter] = {"sentences": sentences, "lines": lines, "words": words, "atom": atom}
# For a block over budget: prose goes by sentences, structured blocks by lines; then words, then characters.
TEXT_SPLITTERS: dict[Unit, tuple[Splitter, ...]] = {
    "sentences": (sentences, words),
    "lines": (lines, sentences, words),
}


def split_text(
    text: str, splitters: Sequence[Splitter], limit: int, count: Counter, max_chars: int
) -> list[tuple[str, str, int]]:
    """(unit, separator, tokens) triples of at most `limit` tokens and `max_chars` characters each."""
    if not splitters:
        return hard_split(text, limit, count, max_chars)
    result: list[tuple[str, str, int]] = []
    for unit, sep in splitters[0](text):
        tokens = count(unit) if len(unit) <= max_chars else limit + 1  # too long: never counted whole
        if tokens <= limit:
            result.append((unit, sep, tokens))
            continue
        smaller = split_text(unit, splitters[1:], limit, count, max_chars)
        if smaller:
            result.append((smaller[0][0], sep, smaller[0][2]))
            result.extend(smaller[1:])
    return result


def hard_split(text: str, limit: int, count: Counter, max_chars: int) -> list[tuple[str, str, int]]:
    """Last resort for a run without spaces (a long CJK sentence, a data blob): the longest fitting prefix."""
    parts: list[tuple[str, str, int]] = []
    start = 0
    while start < len(text):
        end = _longest_fit(text, start, limit, count, max_chars)
        parts.append((text[start:end], "", count(text[start:end])))
        start = end
    return parts


def _longest_fit(text: str, start: int, limit: int, count: Counter, max_chars: int) -> int:
    """End of the longest prefix from `start` within both limits (at least one character): doubling from
    `limit` characters, then bisecting the last step, so that each part costs O(its length x log)."""
    bound = min(len(text) - start, max(limit, 1) * CHARS_PER_TOKEN_BOUND, max(max_chars, 1))
    low, probe = 1, min(max(limit, 1), bound)
    while probe > low and count(text[start : start + probe]) <= limit:
        low, probe = probe, min(2 * probe, bound)
    high = probe - 1 if probe > low else low
    while low < high:
        middle = (low + high + 1) // 2
        if count(text[start : start + middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return start + low
