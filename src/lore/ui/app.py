"""Where the UI joins the app: its static files and its pages."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from lore.ui.pages import router
from lore.ui.rendering import STATIC_DIR


def mount_ui(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
