"""Recommendations: a user's recommended articles with the reason each is there (the signed-in user's own; an
admin may name any end user), the articles related to a chosen one, and, for admins, the recommender's versions.
Each list is the API's own handler (`lore.api.routes.recommendations`), so it leaves out what the caller may not
read and refuses what the API refuses (a viewer asking for another user's is 403)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep
from lore.api.routes import documents as api_documents
from lore.api.routes import recommendations as api_recommendations
from lore.security.principal import Principal
from lore.security.scopes import Scope
from lore.service import Lore
from lore.ui.pages.search import collection_names
from lore.ui.rendering import allows, is_htmx, render
from lore.ui.routing import page_router
from lore.wire.recommendations import RecommendationOut

router = page_router()
Text = Annotated[str, Query(max_length=2000)]
CHOICES = 100  # documents offered in the "related to" selector: the newest
RELATED = 5  # related articles listed under a document


def related_articles(lore: Lore, principal: Principal, document_id: str) -> list[RecommendationOut]:
    """What a document's page lists under "Related articles" (nothing for a caller the API would refuse)."""
    if not allows(principal, "GET", "/v1/documents/{document_id}/related"):
        return []
    return api_recommendations.related(document_id, lore, principal, k=RELATED).items


@router.get("/recommendations")
def recommendations_page(
    request: Request,
    lore: LoreDep,
    principal: PrincipalDep,
    user: Annotated[str, Query(max_length=128)] = "",
    k: Annotated[int, Query(ge=1, le=api_recommendations.MAX_K)] = 10,
    context: Text = "",
    collection: Annotated[str, Query(max_length=64)] = "",
    document: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Recommendations for `user` (default: the signed-in user), and the articles related to `document` when
    one is chosen; an htmx request gets the lists only."""
    found = api_recommendations.recommendations(
        lore,
        principal,
        user=user.strip() or None,
        k=k,
        context=context.strip() or None,
        collection=collection or None,
    )
    related = api_recommendations.related(document, lore, principal, k=k) if document else None
    documents = []
    if allows(principal, "GET", "/v1/documents"):
        documents = api_documents.list_documents(lore, principal, limit=CHOICES).items
    model = None
    if allows(principal, "GET", "/v1/recommendations/model"):
        model = api_recommendations.recommender(lore, principal)
    context_values = {
        "found": found,
        "related": related,
        "model": model,
        "user": user,
        "for_user": api_recommendations.user_of(principal, user.strip() or None),
        "names_users": principal.allows(Scope.ADMIN),  # what `user_of` lets a signed-in user do
        "k": k,
        "context": context,
        "collection": collection,
        "collections": collection_names(lore, principal),
        "document": document,
        "documents": documents,
    }
    block = "lists" if is_htmx(request) else None
    return render(request, "recommendations.html", context_values, block=block)
