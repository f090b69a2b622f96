"""The demo knowledge base: Lore's own help centre, loaded by `lore serve --demo` and `make run`.

The articles are real documentation (Markdown, and HTML with the boilerplate a help centre's pages carry),
so the demo shows search over content that answers a new user's first questions.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def demo_dir() -> Path:
    """The folder of demo articles, ready for `Lore.ingest_paths` (it holds only supported files)."""
    return Path(str(files("lore.demo") / "articles"))
