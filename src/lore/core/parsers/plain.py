"""Plain text: decode whatever encoding the file is in, then find paragraphs, lists and a title."""

from __future__ import annotations

import codecs
import re

from lore.core.parsers._text import block, document, humanise, looks_like_title, split_paragraphs
from lore.errors import CorruptDocument
from lore.models import Block, ParsedDocument

_BULLET = re.compile(r"^\s*(?:[-*+•▪◦]|(\d{1,3})[.)])\s+")
_UNDERLINE = re.compile(r"^\s*(=+|-+)\s*$")
_SNIFF_BYTES = 8192
_MAX_BINARY_RATIO = 0.1
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def parse(data: bytes, filename: str) -> ParsedDocument:
    text = decode(data)
    paragraphs = split_paragraphs(text)
    blocks = [_paragraph_block(paragraph) for paragraph in paragraphs]
    title = humanise(filename)
    first = blocks[0] if blocks else None
    if first is not None and first.kind == "heading":
        title = first.text
    elif first is not None and len(blocks) > 1 and _is_title_line(paragraphs[0]):
        title = first.text
        blocks[0] = Block("heading", first.text, level=1)
    return document(title, blocks, {"format": "txt"})


def decode(data: bytes) -> str:
    """UTF-8 (or a BOM's encoding) first; Windows-1252 and then Latin-1 for legacy files."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    if _looks_binary(data[:_SNIFF_BYTES]):
        raise CorruptDocument("binary content, not text")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _looks_binary(sample: bytes) -> bool:
    """NUL bytes or many control bytes mean an executable, an archive or an image, not text."""
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte < 32 and byte not in b"\t\n\r\f")
    return controls / len(sample) > _MAX_BINARY_RATIO


def _paragraph_block(paragraph: str) -> Block | None:
    lines = [line for line in paragraph.split("\n") if line.strip()]
    if len(lines) == 2 and _UNDERLINE.match(lines[1]):
        return block("heading", lines[0], level=1 if "=" in lines[1] else 2)
    if all(_BULLET.match(line) for line in lines):
        return block("list", "\n".join(_BULLET.sub(_marker, line) for line in lines))
    return block("paragraph", paragraph)


def _marker(match: re.Match[str]) -> str:
    """Bullets become '- '; numbered items keep their number, since steps are often cited by it."""
    return f"{match.group(1)}. " if match.group(1) else "- "


def _is_title_line(paragraph: str) -> bool:
    lines = paragraph.split("\n")
    return len(lines) == 1 and looks_like_title(lines[0]) and not _BULLET.match(lines[0])
