"""Intent versions on a real Lore (SQLite): training v1 and v2, activation and rollback, tenant scoping,
shadow predictions in the events, A/B shares stable per user, and the comparison read from the events."""

from __future__ import annotations

import pytest

from lore.backends.store.event_records import EventFilters
from lore.backends.store.trained_models import TrainedModel
from lore.errors import Conflict, NotFound
from lore.intelligence.intents.comparison import compare
from lore.intelligence.intents.serving import Caller, IntentService, NoActiveModel
from lore.intelligence.intents.versions import intent_version, train_version
from lore.service import Lore

CLASSIFIED = EventFilters(kinds=frozenset({"classified"}))
OPERATOR = Caller("operator")


def trained(
    intent_lore: Lore, content: bytes, tenant: str = "default", activate: bool = False
) -> TrainedModel:
    return train_version(
        intent_lore.store,
        intent_lore.embedder,
        intent_lore.settings,
        tenant,
        content,
        "default",
        activate=activate,
    )


@pytest.fixture
def service(intent_lore: Lore) -> IntentService:
    return IntentService(intent_lore.store, intent_lore.models, intent_lore.settings, intent_lore.events)


def test_versions_activation_and_rollback(
    intent_lore: Lore, service: IntentService, intent_csv: bytes
) -> None:
    with pytest.raises(NoActiveModel):
        service.classify("default", "refund my order", OPERATOR)
    v1 = trained(intent_lore, intent_csv, activate=True)
    v2 = trained(intent_lore, intent_csv)
    assert (v1.version, v2.version, v2.status) == (1, 2, "candidate")
    assert v1.embedder == intent_lore.embedder.model_id and len(v1.data_hash) == 64
    assert v1.labels == ["card_lost", "refund_request", "talk_to_human"] and "accuracy" in v1.metrics

    first = service.classify("default", "please refund the order", OPERATOR)
    assert (first.intent, first.model_version) == ("refund_request", 1)
    intent_lore.store.trained_models.activate("default", v2.id)
    assert service.classify("default", "please refund the order", OPERATOR).model_version == 2
    back = intent_lore.store.trained_models.rollback("default", "intents", "default")
    assert back.id == v1.id
    assert service.classify("default", "please refund the order", OPERATOR).model_version == 1


def test_another_tenant_neither_sees_nor_classifies_with_the_model(
    intent_lore: Lore, service: IntentService, intent_csv: bytes
) -> None:
    model = trained(intent_lore, intent_csv, activate=True)
    with pytest.raises(NoActiveModel):
        service.classify("other", "please refund the order", OPERATOR)
    with pytest.raises(NotFound):
        intent_version(intent_lore.store, "other", model.id)
    assert intent_lore.store.trained_models.versions("other", "intents") == []


def test_a_shadow_predicts_beside_the_active_version_in_the_events(
    intent_lore: Lore, service: IntentService, intent_csv: bytes
) -> None:
    active = trained(intent_lore, intent_csv, activate=True)
    shadow = intent_lore.store.trained_models.set_status(
        "default", trained(intent_lore, intent_csv).id, "shadow"
    )
    caller = Caller("key:k1", user_id="u1", conversation_id=None)
    served = service.classify("default", "I lost my card at the mall", caller)
    assert served.model_id == active.id  # the shadow never answers

    intent_lore.events.flush()
    (event,) = intent_lore.store.events.stream("default", CLASSIFIED)
    assert (event.query, event.actor, event.user_id) == ("I lost my card at the mall", "key:k1", "u1")
    assert event.data["model_id"] == active.id and event.data["intent"] == "card_lost"
    assert event.data["shadow"]["model_id"] == shadow.id and event.data["shadow"]["intent"] == "card_lost"
    assert event.data["agree"] is True and event.value == served.confidence

    report = compare(intent_lore.store, "default", "default", {"I lost my card at the mall": "card_lost"})
    assert (report["events"], report["shadowed"], report["agreement"]) == (1, 1, 1.0)
    rows = {row["model_id"]: row for row in report["versions"]}
    assert rows[active.id]["served"] == 1 and rows[shadow.id]["shadowed"] == 1
    assert rows[active.id]["accuracy"] == 1.0 and rows[shadow.id]["accuracy"] == 1.0


def test_a_candidate_serves_its_share_the_same_users_every_time(
    intent_lore: Lore, service: IntentService, intent_csv: bytes
) -> None:
    active = trained(intent_lore, intent_csv, activate=True)
    candidate = intent_lore.store.trained_models.set_status(
        "default", trained(intent_lore, intent_csv).id, "candidate", 0.5
    )
    users = [f"user-{n}" for n in range(40)]
    first = {u: service.classify("default", "refund me", Caller("operator", u)).model_id for u in users}
    again = {u: service.classify("default", "refund me", Caller("operator", u)).model_id for u in users}
    assert first == again
    share = sum(model_id == candidate.id for model_id in first.values()) / len(users)
    assert 0.25 <= share <= 0.75 and set(first.values()) == {active.id, candidate.id}

    intent_lore.events.flush()
    report = compare(intent_lore.store, "default", "default")
    served = {row["model_id"]: row["served"] for row in report["versions"]}
    assert served[candidate.id] + served[active.id] == 2 * len(users) and report["agreement"] is None


def test_the_active_version_cannot_be_shadowed_and_a_share_must_be_a_fraction(
    intent_lore: Lore, intent_csv: bytes
) -> None:
    active = trained(intent_lore, intent_csv, activate=True)
    with pytest.raises(Conflict):
        intent_lore.store.trained_models.set_status("default", active.id, "shadow")
    with pytest.raises(Conflict):
        intent_lore.store.trained_models.rollback("default", "intents", "default")
