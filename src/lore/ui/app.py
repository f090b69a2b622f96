"""Where the UI joins the app: its static files and its pages."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from lore.ui.pages import router
from lore.ui.rendering import STATIC_DIR
from lore.ui.routing import error_response


def mount_ui(app: FastAPI) -> None:
    """Also lends the API its error page, for the browser a sign-on callback refuses."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
    app.state.error_page = error_response
