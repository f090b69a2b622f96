"""Promoting an answer on SQLite and PostgreSQL: the draft is written through the normal add path, restricted
to its owner and admins in searches, lists only the sources its promoter may read, and is refused for messages
that are not the promoter's to see or not answers."""

from __future__ import annotations

import pytest

from lore.conversations import Question, open_answering
from lore.core.retrieve import SearchRequest
from lore.errors import InvalidInput, NotFound
from lore.intelligence.drafts import Promotion, draft_text, promote
from lore.models import DEFAULT_TENANT, Access, Message
from lore.security.access import ask_as, conversation_owner
from lore.security.principal import Principal, operator
from lore.security.scopes import ROLE_SCOPES
from lore.service import Lore

EDITOR = Principal(DEFAULT_TENANT, "user", "ed", ROLE_SCOPES["editor"])
VIEWER = Principal(DEFAULT_TENANT, "user", "vi", ROLE_SCOPES["viewer"])
QUESTION = "How long do refunds take?"
DAMAGED = "How long do refunds take for damaged parcels?"


def asked(lore: Lore, principal: Principal, question: str = QUESTION) -> Message:
    """A real answer, in a conversation `principal` started, by the configured (extractive) provider."""
    answering = open_answering(lore)
    conversation = answering.records.create(DEFAULT_TENANT, owner=conversation_owner(principal))
    grounding = answering.prepare(DEFAULT_TENANT, conversation.id, ask_as(principal, Question(question)))
    *_, turn = answering.answer(grounding)
    return turn.answer


@pytest.fixture
def shop(lore: Lore) -> Lore:
    lore.add_text(title="Refunds", text="Refunds reach your card within five business days of the return.")
    lore.add_text(
        title="Refund desk notes",
        text="Refunds for damaged parcels take ten business days, because the courier confirms the damage first.",
        access=Access(restricted=True),  # only admins read it
    )
    return lore


def drafts_found(lore: Lore, readers: frozenset[str] | None) -> set[str]:
    request = SearchRequest(DEFAULT_TENANT, "refunds five business days", 20, readers=readers)
    return {hit.chunk.document_id for hit in lore.search(request) if "draft" in hit.chunk.tags}


def test_a_draft_is_found_by_its_owner_and_admins_only(shop: Lore) -> None:
    answer = asked(shop, EDITOR)

    draft = promote(shop, EDITOR, Promotion(answer.conversation_id, answer.id))

    stored = shop.get_document(draft.id)
    assert stored.collection == "drafts" and stored.tags == ["draft"] and stored.owner == "user:ed"
    assert shop.document_access(draft.id).restricted
    assert QUESTION in (stored.text or "") and stored.metadata["promoted_message_id"] == answer.id
    assert drafts_found(shop, None) == {draft.id}  # an admin
    assert drafts_found(shop, EDITOR.readers) == {draft.id}  # its owner
    assert drafts_found(shop, VIEWER.readers) == set()


def test_a_draft_lists_only_the_sources_its_promoter_may_read(shop: Lore) -> None:
    admins = asked(shop, operator(DEFAULT_TENANT), DAMAGED)  # an admin's answer may cite the restricted notes
    assert "Refund desk notes" in {citation["title"] for citation in admins.citations}
    by_admin = promote(shop, operator(DEFAULT_TENANT), Promotion(admins.conversation_id, admins.id))
    assert "Refund desk notes (" in (shop.get_document(by_admin.id).text or "")

    (notes,) = {c["document_id"] for c in admins.citations if c["title"] == "Refund desk notes"}
    shop.set_document_access(notes, Access(restricted=False))
    editors = asked(shop, EDITOR, DAMAGED)  # cited while the editor could read the notes
    assert "Refund desk notes" in {citation["title"] for citation in editors.citations}
    shop.set_document_access(notes, Access(restricted=True))

    by_editor = promote(shop, EDITOR, Promotion(editors.conversation_id, editors.id))
    text = shop.get_document(by_editor.id).text or ""
    assert DAMAGED in text and "Refund desk notes" not in text
    assert "[1]" in draft_text("q", "a [1]", [{"marker": 1, "title": "T", "source": "s"}])


def test_only_an_answer_the_promoter_sees_can_be_promoted(shop: Lore) -> None:
    answer = asked(shop, EDITOR)
    question_id = answer.metadata["reply_to"]

    with pytest.raises(NotFound):
        promote(shop, VIEWER, Promotion(answer.conversation_id, answer.id))
    with pytest.raises(NotFound):
        promote(shop, EDITOR, Promotion(answer.conversation_id, answer.id + 100))
    with pytest.raises(InvalidInput, match="only an answer"):
        promote(shop, EDITOR, Promotion(answer.conversation_id, question_id))
    unknown = asked(shop, EDITOR, "What colour is the moon on Tuesdays?")
    assert unknown.metadata["abstained"]
    with pytest.raises(InvalidInput, match="abstained"):
        promote(shop, EDITOR, Promotion(unknown.conversation_id, unknown.id))
