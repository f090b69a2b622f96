"""Every page of the UI, one module per area; each router is made by `lore.ui.routing.page_router`."""

from fastapi import APIRouter

from lore.ui.pages import account, auth, chat, documents, gaps, health, jobs, keys, recommendations, search

router = APIRouter()
for module in (auth, account, search, chat, documents, jobs, keys, gaps, recommendations, health):
    router.include_router(module.router)
