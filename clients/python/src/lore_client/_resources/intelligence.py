"""What Lore learns from use: search analytics and knowledge gaps, retrieval adapters, recommendations, and
intent models with their routes."""

from __future__ import annotations

from lore_client._pages import Page
from lore_client._resources.content import FileLike, file_field
from lore_client._routes import Call, M, Namespace, endpoint, given, paged
from lore_client.types import (
    Document,
    Job,
    JSONObject,
    JSONObjects,
    RecommendationList,
    Strings,
    TrainedModel,
)


class Analytics(Namespace[M]):
    name = "analytics"

    @endpoint("GET", "/v1/analytics/search")
    def search(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        min_searches: int | None = None,
    ) -> Call[JSONObject]:
        """Top queries, queries without results, click-through."""
        query = {"since": since, "until": until, "limit": limit, "min_searches": min_searches}
        return Call(query=query)

    @endpoint("GET", "/v1/analytics/gaps")
    def gaps(
        self,
        *,
        since: str | None = None,
        until: str | None = None,
        min_count: int | None = None,
        limit: int | None = None,
    ) -> Call[JSONObject]:
        """Questions the knowledge base answers badly, grouped."""
        return Call(query={"since": since, "until": until, "min_count": min_count, "limit": limit})

    @endpoint("POST", "/v1/analytics/gaps/promote")
    def promote(
        self,
        conversation_id: str,
        message_id: int,
        *,
        title: str | None = None,
        collection: str | None = None,
    ) -> Call[Document]:
        """Turn a good answer into a document of the knowledge base."""
        fields = given(title=title, collection=collection)
        return Call(json={"conversation_id": conversation_id, "message_id": message_id, **fields})


class Adapters(Namespace[M]):
    """Retrieval adapters trained per collection on query/answer pairs."""

    name = "adapters"

    @paged("/v1/adapters")
    def list(self, *, collection: str | None = None, limit: int | None = None) -> Call[Page[TrainedModel]]:
        return Call(query={"collection": collection, "limit": limit})

    @endpoint("GET", "/v1/adapters/{collection}")
    def get(self, collection: str, *, version: int | None = None) -> Call[TrainedModel]:
        return Call(path={"collection": collection}, query={"version": version})

    @endpoint("POST", "/v1/adapters/{collection}/train")
    def train(
        self,
        collection: str,
        *,
        pairs: JSONObjects | None = None,
        from_events: bool | None = None,
        activate: bool | None = None,
    ) -> Call[Job]:
        """Queue the training of the collection's next adapter on `pairs` (`{"query", "document_id"}`, ...)
        and/or its click events."""
        fields = given(pairs=pairs, from_events=from_events, activate=activate)
        return Call(path={"collection": collection}, json=fields)

    @endpoint("POST", "/v1/adapters/{collection}/activate")
    def activate(
        self, collection: str, *, version: int | None = None, force: bool | None = None
    ) -> Call[TrainedModel]:
        return Call(path={"collection": collection}, json=given(version=version, force=force))

    @endpoint("POST", "/v1/adapters/{collection}/rollback")
    def rollback(self, collection: str) -> Call[JSONObject]:
        return Call(path={"collection": collection})


class Recommendations(Namespace[M]):
    name = "recommendations"

    @endpoint("GET", "/v1/recommendations")
    def get(
        self,
        *,
        user: str | None = None,
        k: int | None = None,
        context: str | None = None,
        collection: str | None = None,
    ) -> Call[RecommendationList]:
        """For `user` (personal), around the document `context`, or popular ones."""
        return Call(query={"user": user, "k": k, "context": context, "collection": collection})

    @endpoint("GET", "/v1/documents/{document_id}/related")
    def related(self, document_id: str, *, k: int | None = None) -> Call[RecommendationList]:
        return Call(path={"document_id": document_id}, query={"k": k})

    @endpoint("GET", "/v1/recommendations/model")
    def model(self) -> Call[JSONObject]:
        return Call()


class Intents(Namespace[M]):
    """Intent models (trained from labelled text, versioned) and what each intent routes to; `classify` is on
    the client itself."""

    name = "intents"

    @endpoint("GET", "/v1/intents/models")
    def models(self, *, name: str | None = None) -> Call[list[TrainedModel]]:
        return Call(query={"name": name}, unwrap="items")

    @endpoint("GET", "/v1/intents/models/{model_id}")
    def model(self, model_id: str) -> Call[TrainedModel]:
        return Call(path={"model_id": model_id})

    @endpoint("POST", "/v1/intents/models/{model_id}/activate")
    def activate(self, model_id: str) -> Call[TrainedModel]:
        return Call(path={"model_id": model_id})

    @endpoint("POST", "/v1/intents/models/{model_id}/shadow")
    def shadow(self, model_id: str) -> Call[TrainedModel]:
        return Call(path={"model_id": model_id})

    @endpoint("POST", "/v1/intents/models/{model_id}/share")
    def share(self, model_id: str, traffic_share: float | None) -> Call[TrainedModel]:
        """Send `traffic_share` (0 to 1) of classifications to this model; None stops it."""
        return Call(path={"model_id": model_id}, json={"traffic_share": traffic_share})

    @endpoint("POST", "/v1/intents/rollback")
    def rollback(self, *, name: str | None = None) -> Call[TrainedModel]:
        return Call(json=given(name=name))

    @endpoint("GET", "/v1/intents/compare")
    def compare(self, *, name: str | None = None) -> Call[JSONObject]:
        return Call(query={"name": name})

    @endpoint("POST", "/v1/intents/train")
    def train(self, file: FileLike, *, name: str | None = None, activate: bool | None = None) -> Call[Job]:
        """Queue the training of the next version of `name` on a CSV of `text,label` rows."""
        csv = file_field(file, None, "text/csv")
        return Call(query={"name": name, "activate": activate}, files={"file": csv})

    @endpoint("GET", "/v1/intents/routes")
    def routes(self) -> Call[list[JSONObject]]:
        return Call(unwrap="items")

    @endpoint("PUT", "/v1/intents/routes/{intent}")
    def set_route(
        self,
        intent: str,
        *,
        collection: str | None = None,
        tags: Strings | None = None,
        reply: str | None = None,
        escalate: bool | None = None,
    ) -> Call[JSONObject]:
        """Where conversations of `intent` go: a collection (and tags) to answer from, a fixed reply, or a
        person."""
        fields = given(collection=collection, tags=tags, reply=reply, escalate=escalate)
        return Call(path={"intent": intent}, json=fields)

    @endpoint("DELETE", "/v1/intents/routes/{intent}")
    def delete_route(self, intent: str) -> Call[None]:
        return Call(path={"intent": intent}, expect="empty")
