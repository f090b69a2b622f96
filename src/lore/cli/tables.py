"""Tables that fit the terminal: no cell wraps across lines. When the rows are wider than the terminal, the
flexible columns (titles, sources, errors) give way, cut with an ellipsis (paths from their start, so the file
name stays), and the others (ids, counts, dates, states) are kept whole, so an id can always be copied."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

GAP = 2  # spaces between columns
MIN_FLEXIBLE = 6  # a flexible column never shrinks below this


@dataclass
class Grid:
    columns: Sequence[str]
    flexible: Sequence[str] = ()
    right: Sequence[str] = ()
    paths: Sequence[str] = ()
    rows: list[list[str]] = field(default_factory=list)

    def add_row(self, *cells: str) -> None:
        self.rows.append(list(cells))


def table(
    *columns: str, flexible: Sequence[str] = (), right: Sequence[str] = (), paths: Sequence[str] = ()
) -> Grid:
    """Columns by header; `flexible` ones give way when space runs out (`paths` among them are cut from
    their start), `right` ones align right."""
    return Grid(columns, flexible, right, paths)


def widths(grid: Grid, available: int) -> list[int]:
    """Each column's natural width, the flexible ones shrunk (in proportion to their widths) to fit."""
    natural = [
        max([len(header), *(len(row[i]) for row in grid.rows)]) for i, header in enumerate(grid.columns)
    ]
    excess = sum(natural) + GAP * (len(natural) - 1) - available
    flexible = [i for i, header in enumerate(grid.columns) if header in grid.flexible]
    shrinkable = sum(max(0, natural[i] - MIN_FLEXIBLE) for i in flexible)
    if excess <= 0 or not shrinkable:
        return natural
    fitted = list(natural)
    for i in flexible:
        share = max(0, natural[i] - MIN_FLEXIBLE) / shrinkable
        fitted[i] = max(MIN_FLEXIBLE, natural[i] - round(excess * share + 0.5))
    return fitted


def cut(text: str, width: int, *, from_start: bool = False) -> str:
    if len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1 :] if from_start else text[: width - 1] + "…"


def show(grid: Grid, console: Console) -> None:
    """Print at the rows' natural width, or at the terminal's if that is narrower."""
    sizes = widths(grid, console.width)
    out = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for header, size in zip(grid.columns, sizes, strict=True):
        out.add_column(header, width=size, no_wrap=True, justify="right" if header in grid.right else "left")
    for row in grid.rows:
        cells = [
            cut(cell, size, from_start=header in grid.paths)
            for cell, size, header in zip(row, sizes, grid.columns, strict=True)
        ]
        out.add_row(*cells)
    console.print(out, highlight=False, markup=False)


def when(moment: datetime | None) -> str:
    """A timestamp to the minute, in UTC as stored."""
    return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


def place(source: str) -> str:
    """A file source relative to the working directory when under it, with `~` for home; other sources as
    they are."""
    path = Path(source)
    if not path.is_absolute():
        return source
    for base, shown in ((Path.cwd(), ""), (Path.home(), "~")):
        if path.is_relative_to(base) and path != base:
            relative = path.relative_to(base)
            return str(Path(shown) / relative) if shown else str(relative)
    return source


def listing(console: Console, values: Mapping[str, Any], indent: int = 2) -> None:
    """A mapping as aligned `name  value` lines, nested mappings indented under their name; lists and other
    values as compact JSON (never a Python repr)."""
    width = max((len(str(name)) for name in values), default=0)
    for name, value in values.items():
        if isinstance(value, Mapping) and value:
            console.print(f"{' ' * indent}{name}", highlight=False, markup=False)
            listing(console, value, indent + 2)
            continue
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
        console.print(f"{' ' * indent}{name!s:<{width}}  {shown}", highlight=False, markup=False)
