"""The embeddable help widget's script and stylesheet, at fixed public addresses so a help-centre page on any
origin includes it with one tag (docs/widget.md). They are the package's own static files; unversioned
addresses, so browsers keep them for minutes, not for good."""

from __future__ import annotations

from fastapi.responses import FileResponse

from lore.ui.rendering import STATIC_DIR
from lore.ui.routing import page_router

router = page_router()
WIDGET_DIR = STATIC_DIR / "widget"
CACHE = {"Cache-Control": "public, max-age=300"}


@router.get("/widget.js")
def widget_script() -> FileResponse:
    return FileResponse(WIDGET_DIR / "widget.js", media_type="text/javascript", headers=CACHE)


@router.get("/widget.css")
def widget_stylesheet() -> FileResponse:
    return FileResponse(WIDGET_DIR / "widget.css", media_type="text/css", headers=CACHE)
