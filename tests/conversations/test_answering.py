"""Answering with a real Lore: retrieval, the relevance floor, and the stored turn, on every backend."""

from __future__ import annotations

import pytest

from lore.answers import ABSTENTION, TextDelta
from lore.conversations import Question, StoredTurn, open_answering
from lore.service import Lore

STATUS = (
    "# Status colours\n\nThe meaning of each colour: green means every service runs, red means an outage."
)


@pytest.fixture
def status_lore(lore: Lore) -> Lore:
    lore.add_text(title="", text=STATUS, source="status.md")
    return lore


def answer(lore: Lore, question: str) -> StoredTurn:
    answering = open_answering(lore)
    conversation = answering.records.create("default")
    events = list(answering.answer(answering.prepare("default", conversation.id, Question(question))))
    assert all(isinstance(event, TextDelta) for event in events[:-1])
    turn = events[-1]
    assert isinstance(turn, StoredTurn)
    return turn


def test_a_passage_sharing_only_a_word_is_not_an_answer(status_lore: Lore) -> None:
    """ "meaning" is half of the question's terms, enough for the sentence scorer alone; the passage is about
    something else entirely, and its similarity to the question is under the model's floor."""
    turn = answer(status_lore, "What is the meaning of life?")

    assert turn.answer.content == ABSTENTION
    assert turn.answer.metadata["abstained"] is True and turn.answer.metadata["passages"] == 0


def test_a_related_question_is_answered_from_the_same_passage(status_lore: Lore) -> None:
    turn = answer(status_lore, "What does a red status colour mean?")

    assert "red means an outage" in turn.answer.content
    assert turn.answer.metadata["abstained"] is False and turn.answer.metadata["passages"] == 1
