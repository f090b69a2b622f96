"""What a tenant's intent routes make of a question: its classification by the tenant's intent model and the
rule for that intent, if any (search one collection, narrow to tags, a canned reply, escalate to a human)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lore.backends.store.intent_routes import IntentRoute
from lore.intelligence.intents.serving import Caller, Classification, IntentService, NoActiveModel

if TYPE_CHECKING:
    from lore.backends.store.intent_routes import IntentRouteRecords


@dataclass(frozen=True, slots=True)
class Routing:
    classification: Classification
    rule: IntentRoute | None

    @property
    def reply(self) -> str | None:
        return self.rule.reply if self.rule is not None else None

    @property
    def escalate(self) -> bool:
        return self.rule is not None and self.rule.escalate

    def metadata(self) -> dict[str, Any]:
        """What the answer records: the intent, its confidence, the model version and the rule applied."""
        c, rule = self.classification, self.rule
        applied = None
        if rule is not None:
            applied = {"collection": rule.collection, "tags": rule.tags, "reply": rule.reply is not None}
        return {
            "intent": c.intent,
            "confidence": c.confidence,
            "model_id": c.model_id,
            "model_version": c.model_version,
            "route": applied,
        }


def route(
    intents: IntentService, routes: IntentRouteRecords, tenant_id: str, text: str, caller: Caller
) -> Routing | None:
    """The question's routing, or None when the tenant has no active intent model."""
    try:
        classification = intents.classify(tenant_id, text, caller)
    except NoActiveModel:
        return None
    rule = routes.get(tenant_id, classification.intent) if classification.intent is not None else None
    return Routing(classification, rule)
