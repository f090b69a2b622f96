"""HTML: keep the page's main content and its structure, drop navigation and other boilerplate.

Every walk over the tree keeps its own stack instead of recursing and visits each node a bounded number of
times; markup nested too deeply for its length (which the tree builder itself would take quadratic time
over) is refused before it is built.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from lore.core.parsers._nesting import check_nesting
from lore.core.parsers._text import block, document, first_heading, humanise, list_line, squash
from lore.core.parsers.plain import decode
from lore.models import Block, ParsedDocument

_DROP_TAGS = frozenset(
    ("script", "style", "noscript", "svg", "template", "iframe", "form", "nav", "aside", "button", "select")
)
_PAGE_CHROME = ("header", "footer")
_CHROME_ROLES = frozenset(("navigation", "banner", "contentinfo", "search"))
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_LISTS = ("ul", "ol")
_ARTICLE = ("article", "main")
_BLOCK_TAGS = frozenset((*_HEADINGS, "p", *_LISTS, "table", "pre"))
_INLINE = frozenset(
    (
        *("a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd", "label"),
        *("mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr"),
    )
)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+[|\u2013\u2014\u00b7:-]\s+")  # bar, dashes, middle dot, colon


def parse(data: bytes, filename: str) -> ParsedDocument:
    tree = _tree(_decode(data))
    title_node = tree.css_first("head title")
    page_title = squash(_inline(title_node)) if title_node is not None else ""
    blocks = list(_content_blocks(tree))
    title = _best_title(page_title, first_heading(blocks)) or humanise(filename)
    html_node = tree.css_first("html")
    lang = (html_node.attributes.get("lang") or "") if html_node is not None else ""
    return document(title, blocks, {"format": "html"} | ({"lang": lang} if lang else {}))


def fragment_blocks(markup: str) -> list[Block]:
    """Blocks of a piece of HTML embedded in another format (raw HTML inside Markdown)."""
    return list(_content_blocks(_tree(markup)))


def _tree(markup: str) -> LexborHTMLParser:
    check_nesting(markup)  # the tree builder's own cost grows with depth times tags
    return LexborHTMLParser(markup)


def _decode(data: bytes) -> str:
    """Honour a declared <meta charset> when it names a known codec; otherwise guess like plain text."""
    match = _CHARSET.search(data[:4096])
    if match is not None:
        try:
            return data.decode(codecs.lookup(match.group(1).decode("ascii")).name)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode(data)


def _content_blocks(tree: LexborHTMLParser) -> Iterator[Block]:
    root = _main_content(tree)
    if root is not None:
        yield from _walk(root)


def _main_content(tree: LexborHTMLParser) -> LexborNode | None:
    """<main>, else a single <article>, else [role=main], else the whole body."""
    main = tree.css_first("main")
    if main is not None:
        return main
    articles = tree.css("article")
    if len(articles) == 1:
        return articles[0]
    return tree.css_first("[role=main]") or tree.body


def _is_boilerplate(node: LexborNode, tag: str, in_article: bool) -> bool:
    """Scripts, navigation, forms, hidden elements, and page (not article) headers and footers; article
    headers carry the article's own title and byline."""
    attributes = node.attributes
    if tag in _DROP_TAGS or "hidden" in attributes or attributes.get("aria-hidden") == "true":
        return True
    if attributes.get("role") in _CHROME_ROLES:
        return True
    return tag in _PAGE_CHROME and not in_article


def _within_article(node: LexborNode) -> bool:
    """Whether the node is, or is inside, an <article> or <main> (looked up once, for the walk's root)."""
    current: LexborNode | None = node
    while current is not None:
        if current.tag in _ARTICLE:
            return True
        current = current.parent
    return False


def _walk(root: LexborNode) -> Iterator[Block]:
    """Structural elements become blocks; loose inline text between them becomes paragraphs. Containers are
    entered on an explicit stack, so deep nesting costs memory in proportion, never recursion."""
    loose: list[str] = []
    stack = [(root.iter(include_text=True), _within_article(root))]
    while stack:
        children, in_article = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            yield from _paragraph(loose)
            continue
        tag = child.tag or ""
        if tag != "-text" and (tag.startswith("-") or _is_boilerplate(child, tag, in_article)):
            continue  # comments, doctype, page chrome
        if tag in ("-text", "br") or tag in _INLINE:
            loose.append(_inline(child))
            continue
        yield from _paragraph(loose)  # loose text ends where a structural element starts
        if tag in _BLOCK_TAGS:
            yield from _element_block(child, tag)
        else:
            stack.append((child.iter(include_text=True), in_article or tag in _ARTICLE))


def _paragraph(loose: list[str]) -> Iterator[Block]:
    paragraph = block("paragraph", "".join(loose)) if loose else None
    loose.clear()
    if paragraph is not None:
        yield paragraph


def _element_block(node: LexborNode, tag: str) -> Iterator[Block]:
    if tag in _HEADINGS:
        made = block("heading", _inline(node), level=_HEADINGS[tag])
    elif tag == "p":
        made = block("paragraph", _inline(node))
    elif tag in _LISTS:
        made = block("list", "\n".join(_list_lines(node)))
    elif tag == "table":
        made = block("table", "\n".join(_table_rows(node)))
    else:
        made = block("code", node.text(deep=True))
    if made is not None:
        yield made


def _inline(node: LexborNode, lists: list[LexborNode] | None = None) -> str:
    """Text of a subtree: line breaks and nested block elements become spaces. With `lists`, nested lists
    are left out and collected there instead (a list item's own text). An explicit stack, not recursion."""
    parts: list[str] = []
    stack: list[tuple[Iterator[LexborNode], str]] = [(iter((node,)), "")]
    while stack:
        children, closing = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            parts.append(closing)
            continue
        tag = child.tag or ""
        if tag == "-text":
            parts.append(child.text(deep=False))
        elif tag == "br":
            parts.append(" ")
        elif lists is not None and tag in _LISTS:
            lists.append(child)
        elif not (tag.startswith("-") or tag in _DROP_TAGS):
            space = "" if tag in _INLINE else " "
            parts.append(space)
            stack.append((child.iter(include_text=True), space))
    return "".join(parts)


def _list_lines(root: LexborNode) -> Iterator[str]:
    """One line per item, numbered for ordered lists; each item's nested lists follow it, indented. Every
    node is visited once: an item's text and the lists inside it are gathered in one pass."""
    stack = [_ListFrame.of(root, 0)]
    while stack:
        frame = stack[-1]
        child = next(frame.children, None)
        if child is None:
            stack.pop()
        elif child.tag == "li":
            nested: list[LexborNode] = []
            text = squash(_inline(child, nested))
            yield list_line(frame.depth, frame.marker(), text)
            stack.extend(_ListFrame.of(inner, frame.depth + 1) for inner in reversed(nested))
        elif child.tag in _LISTS:  # a list directly inside a list, as some editors write them
            stack.append(_ListFrame.of(child, frame.depth + 1))


@dataclass(slots=True)
class _ListFrame:
    """A list being written: its remaining children, its depth and the number of its next item."""

    children: Iterator[LexborNode]
    depth: int
    number: int | None  # None in a bullet list

    @classmethod
    def of(cls, node: LexborNode, depth: int) -> _ListFrame:
        return cls(node.iter(), depth, _list_start(node) if node.tag == "ol" else None)

    def marker(self) -> str:
        if self.number is None:
            return "-"
        self.number += 1
        return f"{self.number - 1}."


def _list_start(node: LexborNode) -> int:
    start = node.attributes.get("start") or "1"
    return int(start) if start.isdigit() else 1


def _table_rows(node: LexborNode) -> Iterator[str]:
    """Rows of this table only (a nested table's text stays inside its cell, never repeated as rows)."""
    for row in _rows(node):
        cells = [squash(_inline(cell)) for cell in row.iter() if cell.tag in ("th", "td")]
        if any(cells):
            yield " | ".join(cells)


def _rows(table: LexborNode) -> Iterator[LexborNode]:
    for child in table.iter():
        if child.tag == "tr":
            yield child
        elif child.tag in ("thead", "tbody", "tfoot"):
            yield from (row for row in child.iter() if row.tag == "tr")


def _best_title(page_title: str, heading: str) -> str:
    """'Backups | Lore Help Centre' -> 'Backups' when the page's heading says just that."""
    if heading and heading.casefold() in (part.casefold() for part in _TITLE_SEPARATORS.split(page_title)):
        return heading
    return page_title or heading
