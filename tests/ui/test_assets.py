"""The UI's files: every one a template names is in the package, and every vendored one keeps its licence."""

from __future__ import annotations

import re

from lore.ui.rendering import STATIC_DIR, UI_DIR

STATIC_REFERENCE = re.compile(r"static_url\('([^']+)'\)")


def test_every_file_a_template_names_is_in_the_package() -> None:
    named = {
        name
        for template in (UI_DIR / "templates").rglob("*.html")
        for name in STATIC_REFERENCE.findall(template.read_text())
    }
    assert {"lore.css", "lore.js", "vendor/htmx/htmx.min.js"} <= named
    assert [name for name in sorted(named) if not (STATIC_DIR / name).is_file()] == []


def test_every_vendored_package_keeps_its_licence() -> None:
    folders = [path for path in (STATIC_DIR / "vendor").iterdir() if path.is_dir()]
    assert len(folders) >= 3
    assert [f.name for f in folders if not (f / "LICENSE").is_file()] == []
