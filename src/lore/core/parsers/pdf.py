"""PDF: the text layer of each page, re-flowed into paragraphs (PDFs only know lines).

A small file can hold huge work: many pages, pages the size of a wall covered in tiny text, compressed streams
that inflate a thousandfold. The page count and each page's size are checked before any text is extracted, and
pypdf itself stops inflating any stream at the stream limit.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from pypdf import PageObject, PdfReader, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import DictionaryObject

from lore.core.parsers import ParseLimits, over_limit
from lore.core.parsers._text import block, clean, document, humanise, looks_like_title, split_paragraphs
from lore.errors import CorruptDocument, DocumentTooLarge
from lore.models import Block, ParsedDocument

_SHORT_LINE = 0.7  # a line this much shorter than the page's longest, ending a sentence, ends a paragraph
_SENTENCE_END = (".", "!", "?", ":", '."', ".)")


def parse(data: bytes, filename: str, limits: ParseLimits = ParseLimits()) -> ParsedDocument:
    with apply_configuration(**_pypdf_limits(limits)):
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise CorruptDocument("encrypted PDF: a password is required")
        pages = [_page_text(page, number, limits) for number, page in enumerate(_pages(reader, limits), 1)]
        return _document(reader, pages, filename)


def _pypdf_limits(limits: ParseLimits) -> dict[str, Any]:
    """pypdf's own bounds, tied to Lore's: a stream inflates to at most the stream limit and is parsed into at
    most as many operands and operators as that many bytes can hold (three bytes the shortest), and the page tree
    may hold little more than the page limit (its inner nodes included)."""
    stream = limits.max_stream_bytes
    return {
        "zlib_maximum_output_length": stream,
        "lzw_maximum_output_length": stream,
        "run_length_maximum_output_length": stream,
        "array_based_stream_maximum_output_length": stream,
        "maximum_declared_stream_length": stream,
        "stream_decoding_work_maximum_length": 4 * stream,
        "stream_parsing_work_maximum_count": stream // 3,
        "page_tree_maximum_entries": 2 * limits.max_document_pages + 64,
    }


def _pages(reader: PdfReader, limits: ParseLimits) -> list[PageObject]:
    """The pages, refused by the page count the file declares before its page tree is walked, and by the
    tree's size while it is (the declared count may lie)."""
    tree = reader.root_object.get("/Pages")
    tree = tree.get_object() if tree is not None else None
    declared = tree.get("/Count", 0) if isinstance(tree, DictionaryObject) else 0
    if isinstance(declared, int) and declared > limits.max_document_pages:
        raise _too_many_pages(f"the PDF has {declared:,} pages", limits)
    try:
        count = len(reader.pages)
    except LimitReachedError as exc:
        raise _too_many_pages("the PDF's page tree holds more pages than it declares", limits) from exc
    if count > limits.max_document_pages:
        raise _too_many_pages(f"the PDF has {count:,} pages", limits)
    return list(reader.pages)


def _too_many_pages(what: str, limits: ParseLimits) -> DocumentTooLarge:
    return over_limit(what, limits, "max_document_pages")


def _page_text(page: PageObject, number: int, limits: ParseLimits) -> str:
    """The page's text, once its size is known to be sane; a stream over the limit refuses the document."""
    unit = float(page.user_unit)
    width, height = float(page.mediabox.width) * unit, float(page.mediabox.height) * unit
    if max(abs(width), abs(height)) > limits.max_page_points:
        size = f"page {number} is {abs(width):,.0f} × {abs(height):,.0f} pt"
        raise over_limit(size, limits, "max_page_points")
    try:
        return clean(page.extract_text() or "")
    except LimitReachedError as exc:
        what = f"page {number} has more content than the stream limit allows"
        raise over_limit(what, limits, "max_stream_bytes") from exc


def _document(reader: PdfReader, pages: list[str], filename: str) -> ParsedDocument:
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
