"""Parsing and chunking take time linear in the document: each generated shape, hostile or merely large,
costs about four times as much CPU at four times the size (a quadratic path would cost sixteen)."""

from __future__ import annotations

import gc
import json
import random
import time
from collections.abc import Callable

import pytest

from lore.core.chunk import chunk_document
from lore.core.parse import parse_bytes

WORDS = ("search", "index", "vector", "chunk", "token", "query", "tenant", "backup", "replica", "worker")
GROWTH = 4
LINEAR_BOUND = 8  # a linear path grows by 4, a quadratic one by 16
SLACK_SECONDS = 0.05


def unpunctuated(n: int) -> bytes:
    """Prose without sentence ends: one piece per word once a block is split."""
    generator = random.Random(n)
    return " ".join(generator.choice(WORDS) for _ in range(n // 6)).encode()


def headings(n: int) -> bytes:
    """A section holding a run of sub-headings without any text."""
    return b"# Manual\n\n## Part\n\n" + b"".join(b"### heading %d\n" % index for index in range(n))


def nested_divs(n: int) -> bytes:
    """Copies of a paragraph inside 500 <div>s, deeper than Python's recursion limit allowed."""
    nest = "<div>" * 500 + "<p>Deep paragraph {}.</p>" + "</div>" * 500
    return ("<html><body>" + "".join(nest.format(index) for index in range(n)) + "</body></html>").encode()


def nested_lists(n: int) -> bytes:
    """Copies of a list nested 40 deep, each level with two items."""
    depth = 40
    nest = (
        "<ul>" + "<li>item {0}</li><li>parent<ul>" * depth + "<li>leaf</li>" + "</ul></li>" * depth + "</ul>"
    )
    return ("<html><body>" + "".join(nest.format(index) for index in range(n)) + "</body></html>").encode()


def markdown_table(n: int) -> bytes:
    rows = b"".join(b"| row %d | some value | another value |\n" % index for index in range(n))
    return b"| name | value | note |\n|---|---|---|\n" + rows


def huge_word(n: int) -> bytes:
    """One "word" that the tokenizer reads as a single unknown token."""
    return (b"abcdefghij" * (n // 10 + 1))[:n]


def json_records(n: int) -> bytes:
    """A data dump: dense punctuation and no sentences."""
    generator = random.Random(n)
    records = [
        {"id": index, "name": f"item-{generator.randrange(10**6)}", "tags": ["a", "b"]} for index in range(n)
    ]
    return json.dumps(records).encode()


def front_matter_title(n: int) -> bytes:
    """A front-matter title line of spaces (a pattern that backtracks would take quadratic time on it)."""
    return b"---\ntitle: a" + b" " * n + b"b\n---\n\nSome text.\n"


SHAPES: dict[str, tuple[str, Callable[[int], bytes], int]] = {
    "unpunctuated text": ("notes.txt", unpunctuated, 100_000),
    "many headings": ("headings.md", headings, 2_000),
    "nested divs": ("deep.html", nested_divs, 16),
    "nested lists": ("lists.html", nested_lists, 48),
    "markdown table": ("table.md", markdown_table, 1_200),
    "one huge word": ("blob.txt", huge_word, 600_000),
    "json records": ("dump.txt", json_records, 2_000),
    "front matter title": ("title.md", front_matter_title, 2_000_000),
}


def count(text: str) -> int:
    """Words plus two special tokens: cheap, so that the time measured is the chunker's own."""
    return len(text.split()) + 2


def cpu_seconds(work: Callable[[], object], repeats: int) -> float:
    """The least process CPU time of a few runs (other processes on the machine do not count)."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            start = time.process_time()
            work()
            best = min(best, time.process_time() - start)
        finally:
            gc.enable()
    return best


@pytest.mark.parametrize("shape", SHAPES)
def test_parsing_and_chunking_grow_linearly(shape: str) -> None:
    filename, generate, size = SHAPES[shape]
    small, large = generate(size), generate(GROWTH * size)

    def ingest(data: bytes) -> Callable[[], object]:
        return lambda: chunk_document(parse_bytes(data, filename), count)

    small_seconds = cpu_seconds(ingest(small), repeats=3)  # the bound multiplies its noise by 8
    large_seconds = cpu_seconds(ingest(large), repeats=2)
    assert large_seconds < LINEAR_BOUND * small_seconds + SLACK_SECONDS, (
        f"{shape}: {len(small)} bytes took {small_seconds:.3f} s, {len(large)} bytes {large_seconds:.3f} s"
    )
