"""Markdown: walk markdown-it's token stream and keep the structure the chunker needs.

The stream is flat (containers open and close around their content), so the walk is a loop, not a
recursion, and costs time linear in the tokens. Tables are the one construct where markdown-it makes more
than the text holds (missing cells are filled in, up to 65,536 per table), so the tokens tables make are
budgeted per character of the document: beyond that the document is refused as too complex.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock, table
from markdown_it.token import Token

from lore.core.parsers import html
from lore.core.parsers._text import block, document, first_heading, humanise, list_line, squash
from lore.core.parsers.plain import decode
from lore.errors import DocumentTooComplex
from lore.models import Block, ParsedDocument

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_FRONT_TITLE = re.compile(r"^title:(.*)$", re.MULTILINE)  # no backtracking: a long line costs its length
_LIST_OPEN = ("bullet_list_open", "ordered_list_open")
_BREAKS = ("softbreak", "hardbreak")
_CODE = ("fence", "code_block", "html_block")
# A real cell takes at least one character ("|") and makes 3 tokens; rows add 2. Beyond 8 tokens per
# character (plus room for one sparse table), tables are mostly filled-in empty cells.
_TABLE_TOKENS_PER_CHAR = 8
_TABLE_TOKENS_SLACK = 65_536
_TABLE_TOKENS = "lore_table_tokens"  # the key of the running count in markdown-it's environment


def parse(data: bytes, filename: str) -> ParsedDocument:
    text = decode(data)
    front_title, body = split_front_matter(text)
    blocks = list(_blocks(_markdown().parse(body, {})))
    title = front_title or first_heading(blocks) or humanise(filename)
    return document(title, blocks, {"format": "markdown"})


def split_front_matter(text: str) -> tuple[str, str]:
    """YAML front matter is metadata, not content; only its `title:` is used."""
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if match is None:
        return "", text
    title = _FRONT_TITLE.search(match.group(1))
    value = title.group(1).strip().strip("'\"") if title else ""
    return value, text[match.end() :]


@functools.cache
def _markdown() -> MarkdownIt:
    """CommonMark with tables, whose table rule counts what it makes (the rule keeps its place and alternatives)."""
    parser = MarkdownIt("commonmark").enable("table")
    alt = next(rule.alt for rule in parser.block.ruler.__rules__ if rule.name == "table")
    parser.block.ruler.at("table", _budgeted_table, {"alt": alt})
    return parser


def _budgeted_table(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    before = len(state.tokens)
    found = table(state, start, end, silent)
    if found and not silent:
        made = state.env.get(_TABLE_TOKENS, 0) + len(state.tokens) - before
        state.env[_TABLE_TOKENS] = made
        budget = _TABLE_TOKENS_PER_CHAR * len(state.src) + _TABLE_TOKENS_SLACK
        if made > budget:
            raise DocumentTooComplex(
                f"its tables expand to more than {budget} parts (mostly filled-in empty cells)",
                details={"limit_parts": budget},
            )
    return found


def _blocks(tokens: list[Token]) -> Iterator[Block | None]:
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind == "heading_open":
            yield block("heading", _inline_text(tokens[index + 1]), level=int(token.tag[1:]))
        elif kind == "paragraph_open":
            yield block("paragraph", _inline_text(tokens[index + 1]))
        elif kind in ("fence", "code_block"):
            yield block("code", token.content)
        elif kind == "html_block":
            yield from html.fragment_blocks(token.content)
        elif kind in _LIST_OPEN or kind == "table_open":
            end = _closing(tokens, index)
            lines = _list_lines(tokens, index, end) if kind in _LIST_OPEN else _table_rows(tokens, index, end)
            yield block("list" if kind in _LIST_OPEN else "table", "\n".join(lines))
            index = end
        index += 1  # anything else (blockquotes, closing tokens) only frames the blocks inside it


def _closing(tokens: list[Token], start: int) -> int:
    """Index of the token that closes the one opened at `start`."""
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].nesting
        if depth == 0:
            return index
    return len(tokens) - 1


def _inline_text(token: Token) -> str:
    """Plain text of inline markup: link text, alt text and code spans, without the syntax."""
    parts: list[str] = []
    pending = list(reversed(token.children or ()))
    while pending:
        child = pending.pop()
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in _BREAKS:
            parts.append(" ")
        elif child.children:  # an image: its alt text
            pending.extend(reversed(child.children))
    return "".join(parts)


@dataclass(slots=True)
class _Item:
    depth: int
    marker: str
    texts: list[str] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)  # lines of the lists inside this item


def _list_lines(tokens: list[Token], start: int, end: int) -> list[str]:
    """One '- item' line per item (numbered for ordered lists), followed by its nested lists, indented."""
    lines: list[str] = []
    numbers: list[int | None] = []  # the next number of each open list (None: a bullet list)
    items: list[_Item] = []
    for token in tokens[start : end + 1]:
        kind = token.type
        if kind in _LIST_OPEN:
            numbers.append(int(str(token.attrs.get("start", 1))) if kind == "ordered_list_open" else None)
        elif kind in ("bullet_list_close", "ordered_list_close"):
            numbers.pop()
        elif kind == "list_item_open":
            number = numbers[-1]
            numbers[-1] = None if number is None else number + 1
            items.append(_Item(len(numbers) - 1, "-" if number is None else f"{number}."))
        elif kind == "list_item_close":
            item = items.pop()
            text = " ".join(text for text in item.texts if text)
            (items[-1].nested if items else lines).extend(
                [list_line(item.depth, item.marker, text), *item.nested]
            )
        elif items and kind == "inline":
            items[-1].texts.append(squash(_inline_text(token)))
        elif items and kind in _CODE:
            items[-1].texts.append(squash(token.content))
    return lines


def _table_rows(tokens: list[Token], start: int, end: int) -> Iterator[str]:
    cells: list[str] = []
    for token in tokens[start:end]:
        if token.type == "tr_open":
            cells = []
        elif token.type == "inline":
            cells.append(squash(_inline_text(token)))
        elif token.type == "tr_close":
            yield " | ".join(cells)
