"""Text clean-up shared by every parser, so that all formats reach the chunker in the same shape."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import PurePath

from lore.errors import CorruptDocument
from lore.models import Block, BlockKind, ParsedDocument

# C0/C1 controls except tab and newline, plus characters that render as nothing but split words.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff]")
_SPACES = re.compile(r"[^\S\n]+")
_ANY_SPACE = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n\s*\n")
_TITLE_MAX_CHARS = 120
_MAX_LIST_INDENT = 8  # deeper list items keep this indent, so output stays linear in the items however deep


def clean(text: str) -> str:
    """Unify line endings and drop NUL, control and invisible characters (they confuse tokenizers)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", unicodedata.normalize("NFC", text))


def squash(text: str) -> str:
    """One line of prose: every run of whitespace, line breaks included, becomes one space."""
    return _ANY_SPACE.sub(" ", clean(text)).strip()


def tidy_lines(text: str) -> str:
    """Keep line structure and indentation (nested lists) but collapse runs of spaces within lines."""
    lines = (_tidy_line(line) for line in clean(text).split("\n"))
    return "\n".join(line for line in lines if line)


def _tidy_line(line: str) -> str:
    line = line.expandtabs(2)
    body = _SPACES.sub(" ", line.strip())
    indent = len(line) - len(line.lstrip())
    return f"{' ' * indent}{body}" if body else ""


def tidy_code(text: str) -> str:
    """Code keeps its indentation; only trailing spaces and surrounding blank lines go."""
    lines = [line.rstrip() for line in clean(text).expandtabs(4).split("\n")]
    return "\n".join(lines).strip("\n")


def list_line(depth: int, marker: str, text: str) -> str:
    """One item of a list block: '  - text' indented by its nesting depth (up to a bound)."""
    return f"{'  ' * min(depth, _MAX_LIST_INDENT)}{marker} {text}"


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs are separated by blank lines; each keeps its own line breaks."""
    return [part.strip("\n") for part in _BLANK_LINES.split(clean(text)) if part.strip()]


def humanise(filename: str) -> str:
    """A readable title from a file name: 'reset-your_password.md' -> 'Reset your password'."""
    stem = PurePath(filename).stem if filename else ""
    words = squash(re.sub(r"[-_.]+", " ", stem))
    if not words:
        return "Untitled"
    return words[0].upper() + words[1:] if words.islower() else words


def looks_like_title(line: str) -> bool:
    """A short line that does not end like a sentence reads as a title."""
    line = line.strip()
    return 0 < len(line) <= _TITLE_MAX_CHARS and len(line.split()) <= 15 and line[-1] not in ".,;:!?"


def block(kind: BlockKind, text: str, level: int = 0, page: int | None = None) -> Block | None:
    """A block with normalised text, or None when nothing readable is left."""
    if kind == "code":
        text = tidy_code(text)
    elif kind in ("list", "table"):
        text = tidy_lines(text)
    else:
        text = squash(text)
    return Block(kind, text, level, page) if text.strip() else None


def document(title: str, blocks: Iterable[Block | None], metadata: Mapping[str, object]) -> ParsedDocument:
    """Assemble the result, refusing documents without any text."""
    kept = [item for item in blocks if item is not None]
    if not kept:
        raise CorruptDocument("empty: the document contains no text")
    return ParsedDocument(title=squash(title) or "Untitled", blocks=kept, metadata=dict(metadata))


def first_heading(blocks: Iterable[Block | None]) -> str:
    """Text of the first heading, preferring the highest level (lowest number)."""
    headings = [item for item in blocks if item is not None and item.kind == "heading"]
    if not headings:
        return ""
    top = min(item.level for item in headings)
    return next(item.text for item in headings if item.level == top)
