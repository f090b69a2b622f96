"""PDF: the text layer of each page, re-flowed into paragraphs (PDFs only know lines)."""

from __future__ import annotations

import io
from collections.abc import Iterator

from pypdf import PdfReader

from lore.core.parsers._text import block, clean, document, humanise, looks_like_title, split_paragraphs
from lore.errors import CorruptDocument
from lore.models import Block, ParsedDocument

_SHORT_LINE = 0.7  # a line this much shorter than the page's longest, ending a sentence, ends a paragraph
_SENTENCE_END = (".", "!", "?", ":", '."', ".)")


def parse(data: bytes, filename: str) -> ParsedDocument:
    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise CorruptDocument("encrypted PDF: a password is required")
    pages = [clean(page.extract_text() or "") for page in reader.pages]
    if not any(text.strip() for text in pages):
        raise CorruptDocument("no extractable text (scanned?): the PDF has no text layer")
    meta_title = _metadata_title(reader)
    heading, pages[0] = _split_title_line(pages[0])
    blocks: list[Block | None] = [block("heading", heading, level=1, page=1)] if heading else []
    for number, text in enumerate(pages, start=1):
        blocks.extend(block("paragraph", paragraph, page=number) for paragraph in _paragraphs(text))
    title = meta_title or heading or humanise(filename)
    return document(title, blocks, {"format": "pdf", "pages": len(pages)})


def _metadata_title(reader: PdfReader) -> str:
    title = reader.metadata.title if reader.metadata is not None else None
    title = str(title or "").strip()
    return "" if title.casefold() in ("", "untitled") else title


def _split_title_line(text: str) -> tuple[str, str]:
    """A short first line followed by more text is the document's title, not its first sentence."""
    first, _, rest = text.strip().partition("\n")
    if rest.strip() and looks_like_title(first):
        return first.strip(), rest
    return "", text


def _paragraphs(text: str) -> Iterator[str]:
    for part in split_paragraphs(text):
        lines = [line.strip() for line in part.split("\n") if line.strip()]
        yield from _reflow(lines)


def _reflow(lines: list[str]) -> Iterator[str]:
    """Join wrapped lines; a short line that ends a sentence closes its paragraph."""
    width = max((len(line) for line in lines), default=0)
    current: list[str] = []
    for line in lines:
        current.append(line)
        if len(line) < _SHORT_LINE * width and line.endswith(_SENTENCE_END):
            yield _unwrap(current)
            current = []
    if current:
        yield _unwrap(current)


def _unwrap(lines: list[str]) -> str:
    """Undo line wrapping, rejoining words hyphenated across lines ('exam-' + 'ple')."""
    text = lines[0]
    for line in lines[1:]:
        if text.endswith("-") and text[-2:-1].isalpha() and line[:1].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    return text
