"""DOCX: paragraphs and tables in body order; Word styles tell headings and list items apart.

python-docx reads every part of the package into memory, so the zip guard checks the package first; and it looks
a paragraph's style up among all the styles each time, so style names are read once, into a table."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import docx
from docx.document import Document as WordDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from lore.core.parsers import ParseLimits, zipguard
from lore.core.parsers._text import block, document, first_heading, humanise, squash
from lore.models import Block, BlockKind, ParsedDocument

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_LIST_STYLE = re.compile(r"^list\b.*?(\d)?$")
_LIST_ITEM: BlockKind = "list"
_XML_ERR_NO_MEMORY = 2  # libxml2's code for a failed allocation, which lxml reports as a syntax error


def parse(data: bytes, filename: str, limits: ParseLimits = ParseLimits()) -> ParsedDocument:
    zipguard.check(data, limits)
    try:
        word = docx.Document(io.BytesIO(data))
    except etree.XMLSyntaxError as exc:
        if exc.code == _XML_ERR_NO_MEMORY:
            raise MemoryError("the document's XML does not fit in memory") from exc
        raise
    blocks = list(_blocks(word, _StyleNames(word)))
    title = squash(word.core_properties.title or "") or first_heading(blocks) or humanise(filename)
    return document(title, blocks, {"format": "docx"})


class _StyleNames:
    """Paragraph style names by style id, case-folded; paragraphs without a known style have the default's."""

    def __init__(self, word: WordDocument) -> None:
        styles = [style for style in word.styles if style.type == WD_STYLE_TYPE.PARAGRAPH]
        self.names = {style.style_id: (style.name or "").casefold() for style in styles}
        default = word.styles.default(WD_STYLE_TYPE.PARAGRAPH)
        self.default = (default.name or "").casefold() if default is not None else ""

    def of(self, paragraph: Paragraph) -> str:
        style_id = paragraph._p.style
        return self.names.get(style_id, self.default) if style_id is not None else self.default


def _blocks(word: WordDocument, styles: _StyleNames) -> Iterator[Block | None]:
    """Walk the body in order, gathering runs of consecutive list paragraphs into one list block."""
    items: list[str] = []
    for part in word.iter_inner_content():
        kind, text, level = _classify(part, styles)
        if kind == _LIST_ITEM:
            items.append(text)
            continue
        if items:
            yield block("list", "\n".join(items))
            items = []
        yield block(kind, text, level=level)
    if items:
        yield block("list", "\n".join(items))


def _classify(part: Paragraph | Table, styles: _StyleNames) -> tuple[BlockKind, str, int]:
    """(block kind, text, heading level) of one body element; 'list' means one item of a list."""
    if isinstance(part, Table):
        return "table", "\n".join(_table_rows(part)), 0
    style = styles.of(part)
    text = squash(part.text)
    if style == "title":
        return "heading", text, 1
    heading = _HEADING_STYLE.match(style)
    if heading is not None:
        return "heading", text, int(heading.group(1))
    depth = _list_depth(part, style)
    if depth is not None:
        return _LIST_ITEM, f"{'  ' * depth}- {text}", 0
    return "paragraph", text, 0


def _list_depth(paragraph: Paragraph, style: str) -> int | None:
    """Nesting of a list paragraph, from its numbering (w:numPr) or its style ('List Bullet 2'); else None."""
    levels = paragraph._p.xpath("./w:pPr/w:numPr/w:ilvl/@w:val")
    if levels:
        return int(levels[0])
    if paragraph._p.xpath("./w:pPr/w:numPr"):
        return 0
    styled = _LIST_STYLE.match(style)
    if styled is None:
        return None
    return int(styled.group(1)) - 1 if styled.group(1) else 0


def _table_rows(table: Table) -> Iterator[str]:
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) not in seen:  # a merged cell is repeated once per grid column it spans
                seen.add(id(cell._tc))
                cells.append(squash(cell.text))
        if any(cells):
            yield " | ".join(cells)
