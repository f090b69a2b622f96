"""Recommendations: documents related to one, a user's personal recommendations, and the recommender's
versions. Both lists leave out whatever the caller may not read, and say which model version ranked them.

A publishable key's recommendations are always for its end user (`X-Lore-End-User`), never another; a
signed-in user gets their own (an admin may name another); a secret key names the user, or sends
`X-Lore-End-User`, as its events do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from lore.api.auth import PrincipalDep
from lore.api.deps import LoreDep
from lore.api.errors import ERROR_RESPONSES
from lore.errors import Forbidden, InvalidInput
from lore.intelligence.recommend.serving import KIND, NAME
from lore.names import check_name
from lore.security.access import collections_for, event_user, readers_of
from lore.security.principal import Principal
from lore.security.scopes import Scope
from lore.wire.recommendations import RecommendationsOut, RecommenderOut

router = APIRouter(prefix="/v1", tags=["recommendations"], responses=ERROR_RESPONSES)

MAX_K = 50
K = Annotated[int, Query(ge=1, le=MAX_K, description="How many to return.")]


@router.get("/documents/{document_id}/related")
def related(
    document_id: Annotated[str, Path(min_length=1, max_length=200)],
    lore: LoreDep,
    principal: PrincipalDep,
    k: K = 10,
) -> RecommendationsOut:
    """Documents like this one (content similarity blended with what the same people read), near-duplicates of
    it left out; 404 if the caller may not read it."""
    found = lore.recommendations.related(
        principal.tenant_id,
        document_id,
        k=k,
        readers=readers_of(principal),
        collections=collections_for(principal, None),
    )
    return RecommendationsOut.of(found)


@router.get("/recommendations")
def recommendations(
    lore: LoreDep,
    principal: PrincipalDep,
    user: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    k: K = 10,
    context: Annotated[
        str | None, Query(max_length=2000, description="A question or text the user is on.")
    ] = None,
    collection: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> RecommendationsOut:
    """A user's recommendations: what people like them read, what is popular, what matches what they read and
    the `context` given; never what they marked not helpful (or rated 2 or less), nor what they already read."""
    if collection is not None:
        check_name("collection", collection)
    found = lore.recommendations.for_user(
        principal.tenant_id,
        user_of(principal, user),
        k=k,
        readers=readers_of(principal),
        collections=collections_for(principal, [collection] if collection else None),
        context=context,
    )
    return RecommendationsOut.of(found)


@router.get("/recommendations/model")
def recommender(lore: LoreDep, principal: PrincipalDep) -> RecommenderOut:
    """The tenant's active recommender version and the versions kept."""
    models = lore.store.trained_models
    return RecommenderOut.of(
        models.active(principal.tenant_id, KIND, NAME), models.versions(principal.tenant_id, KIND, NAME)
    )


def user_of(principal: Principal, asked: str | None) -> str:
    """Whose recommendations the caller may ask for: the user its events are attributed to (`event_user`) unless
    it names another, which only secret keys and admins may."""
    if principal.kind == "publishable":
        if principal.end_user is None:
            raise InvalidInput(
                "a publishable key recommends to its end user: send X-Lore-End-User",
                details={"header": "X-Lore-End-User"},
            )
        if asked is not None and asked != principal.end_user:
            raise Forbidden("a publishable key recommends only to its own end user", details={"user": asked})
        return principal.end_user
    signed_in_viewer = principal.kind == "user" and not principal.allows(Scope.ADMIN)
    if signed_in_viewer and asked is not None and asked != principal.id:
        raise Forbidden("only admins may ask for another user's recommendations", details={"user": asked})
    user = asked if asked is not None else event_user(principal, None)
    if user is None:
        raise InvalidInput("name the user to recommend to: ?user=", details={"parameter": "user"})
    return user
