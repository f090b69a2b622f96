"""The `intent_routes` repository on every database: one rule per tenant and intent, replaced when set again,
listed by intent, deleted, and never seen by another tenant."""

from __future__ import annotations

import pytest

from lore.backends.store.database import Database
from lore.errors import NotFound


def test_a_rule_is_set_replaced_listed_and_deleted(db: Database) -> None:
    db.intent_routes.set("t1", "refund_request", collection="billing", tags=["refunds"])
    db.intent_routes.set("t1", "talk_to_human", reply="A colleague will call you.", escalate=True)
    replaced = db.intent_routes.set("t1", "refund_request", collection="payments")

    stored = db.intent_routes.get("t1", "refund_request")
    assert stored is not None and (stored.collection, stored.tags, stored.escalate) == ("payments", [], False)
    assert replaced.collection == "payments"
    assert [r.intent for r in db.intent_routes.list("t1")] == ["refund_request", "talk_to_human"]
    human = db.intent_routes.get("t1", "talk_to_human")
    assert human is not None and human.escalate and human.reply == "A colleague will call you."

    db.intent_routes.delete("t1", "refund_request")
    assert db.intent_routes.get("t1", "refund_request") is None
    with pytest.raises(NotFound):
        db.intent_routes.delete("t1", "refund_request")


def test_another_tenant_has_its_own_rules(db: Database) -> None:
    db.intent_routes.set("t1", "refund_request", collection="billing")
    assert db.intent_routes.get("t2", "refund_request") is None and db.intent_routes.list("t2") == []
    with pytest.raises(NotFound):
        db.intent_routes.delete("t2", "refund_request")
    assert db.intent_routes.get("t1", "refund_request") is not None
