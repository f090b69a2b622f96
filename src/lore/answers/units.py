"""A passage read as a support article is written: prose sentences, the steps of a procedure, and the lines an
answer should not be made of (code, table rows, headings, sentences about the article itself).

Chunk text keeps a list item's marker ("1. Open Settings.") and one line per code line or table row (cells
joined by " | "), but no Markdown fences: code is recognised by its shape.

    >>> [unit.kind for unit in units_of("Open it:\\n1. Choose Reset.\\n2. Save.\\nlore ask \\"x\\"")]
    ['prose', 'step', 'step', 'code']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lore.core.splitting import sentences

Kind = Literal["prose", "step", "item", "code", "table", "heading", "meta"]
ANSWERABLE: frozenset[Kind] = frozenset({"prose", "step", "item"})  # what an answer's sentences may be

_STEP = re.compile(r"^\s*(\d{1,3})[.)]\s+")
_ITEM = re.compile(r"^\s*[-*+•]\s+")
_STATEMENT_END = re.compile(r"[.!…:;][)\"'”’]*\s*$")  # a sentence's end, or a list's introduction
_QUESTION_END = re.compile(r"\?[)\"'”’]*\s*$")
# A line that opens like a command, a prompt, a statement of code, or an assignment.
_COMMAND = re.compile(
    r"^\s*(?:[$#>]\s|>>>|\.{0,2}/|~/|[\w.-]+/bin/|sudo\b|lore\b|curl\b|export\b|pip\d?\b|make\b|cd\b|git\b|"
    r"docker\b|kubectl\b|python\d?\b|npm\b|iconv\b|ocrmypdf\b|from\s+\w+\s+import\b|import\s+\w|def\s|class\s|"
    r"return\b|print\(|[A-Za-z_][\w.]*\s*=\s*\S|[A-Z_]{3,}=)"
)
_CODE_CHARS = re.compile(r"[{}\[\]()<>=;|$`\\]")
_META = re.compile(
    r"^(?:this|the following|the next) (?:article|page|guide|section|document|chapter|topic)s? "
    r"(?:explains|describes|lists|shows|covers|takes|tells|gives|walks|is about|will)\b"
    r"|^(?:see|read)\b(?:\W+\w+){0,10}\W*$"
    r"|^(?:short answers to|each answer links|in this (?:article|page|guide)|for more (?:details|information))",
    re.IGNORECASE,
)
SHORT_FRAGMENT = 6  # words: an unpunctuated line this short is a heading or a label, not a sentence


@dataclass(frozen=True, slots=True)
class Unit:
    """One sentence, step or line of a passage, in document order; `step` numbers a procedure's step."""

    kind: Kind
    text: str
    step: int | None = None


def units_of(text: str, headings: tuple[str, ...] = ()) -> list[Unit]:
    """The passage's units in document order; `headings` (title and heading path) are recognised when a
    line repeats one."""
    named = {_plain(heading) for heading in headings if heading}
    result: list[Unit] = []
    for line in text.splitlines():
        if line.strip():
            result.extend(_line_units(line, named))
    return result


def _line_units(line: str, headings: set[str]) -> list[Unit]:
    stripped = line.strip()
    if " | " in stripped or stripped.startswith("|"):
        return [Unit("table", stripped)]
    if _plain(stripped) in headings:
        return [Unit("heading", stripped)]
    step = _STEP.match(stripped)
    if step:
        return [Unit("step", stripped[step.end() :].strip(), int(step.group(1)))]
    if _ITEM.match(stripped):
        return [Unit("item", _ITEM.sub("", stripped))]
    if is_code(stripped):
        return [Unit("code", stripped)]
    if _is_heading_line(stripped):
        return [Unit("heading", stripped)]
    return [Unit("meta" if _META.search(part) else "prose", part) for part, _ in sentences(stripped)]


def _is_heading_line(line: str) -> bool:
    """A line that is a heading the chunk kept inline (a section merged into its parent): an unpunctuated
    fragment, a question ("How do I reset my password?" answers nothing), or a short line that does not end as
    a statement (a quoted error message, '"no extractable text (scanned?)"')."""
    if _QUESTION_END.search(line):
        return True
    short = len(line.split()) <= SHORT_FRAGMENT
    return short and not _STATEMENT_END.search(line)


def is_code(line: str) -> bool:
    """Whether a line is code or a command rather than prose: it opens like one, or it is dense with the
    symbols code uses and does not end as a sentence does."""
    if _COMMAND.match(line):
        return not _reads_as_prose(line)
    symbols = len(_CODE_CHARS.findall(line))
    return symbols >= 3 and symbols / max(1, len(line.split())) > 0.5 and not line.rstrip().endswith(".")


def _reads_as_prose(line: str) -> bool:
    """ "Lore reads plain text." opens with `lore` but is a sentence: a capital, words, a full stop."""
    words = line.split()
    return line[:1].isupper() and len(words) >= 4 and line.rstrip().endswith((".", "?", "!"))


def _plain(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
