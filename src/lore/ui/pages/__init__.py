"""Every page of the UI, one module per area; each router is made by `lore.ui.routing.page_router`."""

from fastapi import APIRouter

from lore.ui.pages import (
    account,
    audit,
    auth,
    chat,
    documents,
    gaps,
    groups,
    health,
    jobs,
    keys,
    recommendations,
    search,
    usage,
    users,
    webhooks,
    widget,
)

router = APIRouter()
for module in (
    auth,
    account,
    search,
    chat,
    documents,
    jobs,
    keys,
    users,
    groups,
    webhooks,
    usage,
    audit,
    gaps,
    recommendations,
    health,
    widget,
):
    router.include_router(module.router)
