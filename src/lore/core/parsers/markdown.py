"""Markdown: walk markdown-it's syntax tree and keep the structure the chunker needs."""

from __future__ import annotations

import re
from collections.abc import Iterator

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from lore.core.parsers import html
from lore.core.parsers._text import block, document, first_heading, humanise, squash
from lore.core.parsers.plain import decode
from lore.models import Block, ParsedDocument

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.MULTILINE)
_LIST_TYPES = ("bullet_list", "ordered_list")
_BREAKS = ("softbreak", "hardbreak")


def parse(data: bytes, filename: str) -> ParsedDocument:
    text = decode(data)
    front_title, body = split_front_matter(text)
    tree = SyntaxTreeNode(MarkdownIt("commonmark").enable("table").parse(body))
    blocks = list(_blocks(tree))
    title = front_title or first_heading(blocks) or humanise(filename)
    return document(title, blocks, {"format": "markdown"})


def split_front_matter(text: str) -> tuple[str, str]:
    """YAML front matter is metadata, not content; only its `title:` is used."""
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if match is None:
        return "", text
    title = _FRONT_TITLE.search(match.group(1))
    value = title.group(1).strip("'\"") if title else ""
    return value, text[match.end() :]


def _blocks(node: SyntaxTreeNode) -> Iterator[Block | None]:
    for child in node.children:
        kind = child.type
        if kind == "heading":
            yield block("heading", _inline_text(child), level=int(child.tag[1:]))
        elif kind == "paragraph":
            yield block("paragraph", _inline_text(child))
        elif kind in _LIST_TYPES:
            yield block("list", "\n".join(_list_lines(child, depth=0)))
        elif kind == "table":
            yield block("table", "\n".join(_table_rows(child)))
        elif kind in ("fence", "code_block"):
            yield block("code", child.content)
        elif kind == "html_block":
            yield from html.fragment_blocks(child.content)
        else:  # blockquotes and other containers: their paragraphs count as content
            yield from _blocks(child)


def _inline_text(node: SyntaxTreeNode) -> str:
    """Plain text of inline markup: link text, alt text and code spans, without the syntax."""
    if node.type in ("text", "code_inline"):
        return node.content
    if node.type in _BREAKS:
        return " "
    if node.type == "html_inline":
        return ""
    return "".join(_inline_text(child) for child in node.children)


def _list_lines(node: SyntaxTreeNode, depth: int) -> Iterator[str]:
    """One '- item' line per item (numbered for ordered lists), nested lists indented."""
    ordered = node.type == "ordered_list"
    start = int(str(node.attrs.get("start", 1))) if ordered else 0
    for index, item in enumerate(node.children):
        marker = f"{start + index}." if ordered else "-"
        texts = [_item_text(part) for part in item.children if part.type not in _LIST_TYPES]
        yield f"{'  ' * depth}{marker} {' '.join(text for text in texts if text)}"
        for nested in item.children:
            if nested.type in _LIST_TYPES:
                yield from _list_lines(nested, depth + 1)


def _item_text(node: SyntaxTreeNode) -> str:
    if node.type in ("fence", "code_block", "html_block"):
        return squash(node.content)
    return squash(_inline_text(node))


def _table_rows(node: SyntaxTreeNode) -> Iterator[str]:
    for section in node.children:
        for row in section.children:
            yield " | ".join(squash(_inline_text(cell)) for cell in row.children)
