"""How much work an HTML tree builder does on some markup, estimated in one linear scan of its tags.

An HTML5 tree builder looks through its stack of open elements at most tags ("is there a <p> in button
scope?"), so markup nested d deep costs about d steps per tag: 100,000 nested <div>s take lexbor minutes.
The scan keeps a simplified stack (void elements, raw text, the end tags HTML lets authors leave out) and
adds up its depth at every tag; `check_nesting` refuses markup whose total is out of proportion to its length:

    >>> nesting_work("<ul><li>one<li>two</ul>")  # 0 + 1 + 2 at the start tags, 2 popped by </ul>
    5
"""

from __future__ import annotations

import re
from collections import Counter

from lore.errors import DocumentTooComplex

_TAG = re.compile(r"<!--.*?(?:-->|\Z)|<(/?)([a-zA-Z][^\s/<>]*)", re.DOTALL)  # never scans past the next tag
_VOID = frozenset(
    (
        *("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source"),
        *("track", "wbr", "keygen", "basefont", "bgsound", "frame"),
    )
)
_RAW_TEXT = frozenset(
    ("script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript")
)
# A start tag of the key closes the nearest open element of the first set, unless an element of the second
# (its container) is nearer: `<li>a<li>b` are siblings, `<li>a<ul><li>b` are not.
_IMPLIED_ENDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "li": (frozenset(("li",)), frozenset(("ul", "ol", "menu"))),
    "dt": (frozenset(("dt", "dd")), frozenset(("dl",))),
    "dd": (frozenset(("dt", "dd")), frozenset(("dl",))),
    "tr": (frozenset(("tr", "td", "th")), frozenset(("table", "thead", "tbody", "tfoot"))),
    "td": (frozenset(("td", "th")), frozenset(("tr", "table"))),
    "th": (frozenset(("td", "th")), frozenset(("tr", "table"))),
    "option": (frozenset(("option",)), frozenset(("select", "datalist", "optgroup"))),
    "p": (frozenset(("p",)), frozenset(("table", "td", "th", "button", "caption", "div"))),
}
_NEAR = 16  # how far down the stack an implied end is looked for (keeps the scan linear)
WORK_PER_CHAR = 32  # ordinary pages stay under 3; lexbor takes about 3 ns a step
WORK_SLACK = 1 << 22  # a small page may nest about 2,800 elements deep


def nesting_work(markup: str, limit: int | None = None) -> int:
    """Stack depths summed over the start tags, plus what each end tag pops (stopping once past `limit`)."""
    stack: list[str] = []
    open_names: Counter[str] = Counter()
    work, position = 0, 0
    while (match := _TAG.search(markup, position)) is not None:
        position = match.end()
        if match.group(2) is None:
            continue  # a comment
        name = match.group(2).lower()
        if match.group(1):
            work += _close(stack, open_names, name)
            continue
        work += len(stack)
        if name in _RAW_TEXT:
            position = _raw_text_end(markup, position, name)
        elif name not in _VOID:
            _implied_end(stack, open_names, name)
            stack.append(name)
            open_names[name] += 1
        if limit is not None and work > limit:
            break
    return work


def check_nesting(markup: str) -> None:
    """`DocumentTooComplex` when the markup nests too deep for its length to be parsed in linear time."""
    limit = WORK_PER_CHAR * len(markup) + WORK_SLACK
    if nesting_work(markup, limit) > limit:
        raise DocumentTooComplex(
            f"its elements nest too deeply: more than {limit} steps of nesting for {len(markup)} characters",
            details={"limit_steps": limit},
        )


def _close(stack: list[str], open_names: Counter[str], name: str) -> int:
    """Pop up to the element an end tag closes; the steps are those popped, or the whole stack for a stray."""
    if open_names[name] == 0:
        return len(stack)
    steps = 0
    while stack:
        popped = stack.pop()
        open_names[popped] -= 1
        steps += 1
        if popped == name:
            break
    return steps


def _implied_end(stack: list[str], open_names: Counter[str], name: str) -> None:
    rule = _IMPLIED_ENDS.get(name)
    if rule is None:
        return
    closes, containers = rule
    for depth in range(len(stack) - 1, max(len(stack) - 1 - _NEAR, -1), -1):
        if stack[depth] in containers:
            return
        if stack[depth] in closes:
            for popped in stack[depth:]:
                open_names[popped] -= 1
            del stack[depth:]
            return


def _raw_text_end(markup: str, position: int, name: str) -> int:
    """Where the text of a <script>, <style> ... ends: its end tag (any case), else the end of the markup."""
    end = re.compile(rf"</{name}", re.IGNORECASE).search(markup, position)
    return end.end() if end is not None else len(markup)
