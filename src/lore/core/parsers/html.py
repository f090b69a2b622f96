"""HTML: keep the page's main content and its structure, drop navigation and other boilerplate."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser, LexborNode

from lore.core.parsers._text import block, document, first_heading, humanise, squash
from lore.core.parsers.plain import decode
from lore.models import Block, ParsedDocument

_DROP_TAGS = frozenset(
    ("script", "style", "noscript", "svg", "template", "iframe", "form", "nav", "aside", "button", "select")
)
_PAGE_CHROME = ("header", "footer")
_CHROME_ROLES = frozenset(("navigation", "banner", "contentinfo", "search"))
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_LISTS = ("ul", "ol")
_INLINE = frozenset(
    (
        *("a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "font", "i", "kbd", "label"),
        *("mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "tt", "u", "var", "wbr"),
    )
)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_TITLE_SEPARATORS = re.compile(r"\s+[|\u2013\u2014\u00b7:-]\s+")  # bar, dashes, middle dot, colon


def parse(data: bytes, filename: str) -> ParsedDocument:
    tree = LexborHTMLParser(_decode(data))
    title_node = tree.css_first("head title")
    page_title = squash(_inline(title_node)) if title_node is not None else ""
    blocks = list(_content_blocks(tree))
    title = _best_title(page_title, first_heading(blocks)) or humanise(filename)
    html_node = tree.css_first("html")
    lang = (html_node.attributes.get("lang") or "") if html_node is not None else ""
    return document(title, blocks, {"format": "html"} | ({"lang": lang} if lang else {}))


def fragment_blocks(markup: str) -> list[Block | None]:
    """Blocks of a piece of HTML embedded in another format (raw HTML inside Markdown)."""
    tree = LexborHTMLParser(markup)
    return list(_content_blocks(tree))


def _decode(data: bytes) -> str:
    """Honour a declared <meta charset> when it names a known codec; otherwise guess like plain text."""
    match = _CHARSET.search(data[:4096])
    if match is not None:
        try:
            return data.decode(codecs.lookup(match.group(1).decode("ascii")).name)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode(data)


def _content_blocks(tree: LexborHTMLParser) -> Iterator[Block | None]:
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


def _is_boilerplate(node: LexborNode, tag: str) -> bool:
    """Scripts, navigation, forms, hidden elements, and page (not article) headers and footers."""
    attributes = node.attributes
    if tag in _DROP_TAGS or "hidden" in attributes or attributes.get("aria-hidden") == "true":
        return True
    if attributes.get("role") in _CHROME_ROLES:
        return True
    return tag in _PAGE_CHROME and not _inside_article(node)


def _inside_article(node: LexborNode) -> bool:
    """Article headers carry the article's own title and byline; page headers are boilerplate."""
    parent = node.parent
    while parent is not None:
        if parent.tag in ("article", "main"):
            return True
        parent = parent.parent
    return False


def _walk(node: LexborNode) -> Iterator[Block | None]:
    """Structural elements become blocks; loose inline text between them becomes paragraphs."""
    loose: list[str] = []
    for child in node.iter(include_text=True):
        tag = child.tag or ""
        if tag != "-text" and (tag.startswith("-") or _is_boilerplate(child, tag)):
            continue  # comments, doctype, page chrome
        if tag in ("-text", "br") or tag in _INLINE:
            loose.append(_inline(child))
        else:
            yield block("paragraph", "".join(loose))
            loose.clear()
            yield from _element_blocks(child, tag)
    yield block("paragraph", "".join(loose))


def _element_blocks(node: LexborNode, tag: str) -> Iterator[Block | None]:
    if tag in _HEADINGS:
        yield block("heading", _inline(node), level=_HEADINGS[tag])
    elif tag == "p":
        yield block("paragraph", _inline(node))
    elif tag in _LISTS:
        yield block("list", "\n".join(_list_lines(node, depth=0)))
    elif tag == "table":
        yield block("table", "\n".join(_table_rows(node)))
    elif tag == "pre":
        yield block("code", node.text(deep=True))
    else:
        yield from _walk(node)


def _inline(node: LexborNode, skip: tuple[str, ...] = ()) -> str:
    """Text of a subtree: line breaks and nested block elements become spaces."""
    tag = node.tag or ""
    if tag == "-text":
        return node.text(deep=False)
    if tag == "br":
        return " "
    if tag.startswith("-") or tag in skip or tag in _DROP_TAGS:
        return ""
    inner = "".join(_inline(child, skip) for child in node.iter(include_text=True))
    return inner if tag in _INLINE else f" {inner} "


def _list_lines(node: LexborNode, depth: int) -> Iterator[str]:
    ordered = node.tag == "ol"
    items = [child for child in node.iter() if child.tag == "li"]
    for index, item in enumerate(items, start=_list_start(node)):
        marker = f"{index}." if ordered else "-"
        yield f"{'  ' * depth}{marker} {squash(_inline(item, skip=_LISTS))}"
        for nested in item.css("ul, ol"):
            if _nearest_item(nested) == item:
                yield from _list_lines(nested, depth + 1)


def _list_start(node: LexborNode) -> int:
    start = node.attributes.get("start") or "1"
    return int(start) if start.isdigit() else 1


def _nearest_item(node: LexborNode) -> LexborNode | None:
    parent = node.parent
    while parent is not None and parent.tag != "li":
        parent = parent.parent
    return parent


def _table_rows(node: LexborNode) -> Iterator[str]:
    for row in node.css("tr"):
        cells = [squash(_inline(cell)) for cell in row.iter() if cell.tag in ("th", "td")]
        if any(cells):
            yield " | ".join(cells)


def _best_title(page_title: str, heading: str) -> str:
    """'Backups | Lore Help Centre' -> 'Backups' when the page's heading says just that."""
    if heading and heading.casefold() in (part.casefold() for part in _TITLE_SEPARATORS.split(page_title)):
        return heading
    return page_title or heading
