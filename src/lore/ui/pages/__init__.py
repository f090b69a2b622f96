"""Every page of the UI, one module per area; each router is made by `lore.ui.routing.page_router`."""

from fastapi import APIRouter

from lore.ui.pages import auth, chat, documents, search

router = APIRouter()
for module in (auth, search, chat, documents):
    router.include_router(module.router)
