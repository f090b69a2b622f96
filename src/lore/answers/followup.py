"""Turn a follow-up question into a standalone retrieval query, without a model.

A follow-up that is short or leans on the previous turns ("and how long does that take?") names little of its
topic; the salient terms of the user's recent questions stand in for what it refers to.

    >>> standalone_query("and how long does that take?", [Turn("user", "How do I get a refund?")])
    'and how long does that take? refund'
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lore.answers.terms import content_terms
from lore.answers.types import Turn
from lore.core import keywords

SHORT_QUESTION_TERMS = 2  # a question with at most this many topic terms is taken as a follow-up
MAX_CARRIED_TERMS = 8
USER_TURNS_CONSULTED = 3
_ANAPHORA = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|why)\b|\b(it|its|that|this|these|those|they|them|their|"
    r"there|he|she|him|her|one|ones|same)\b",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    """Whether the question probably refers to earlier turns: few topic terms, or an opening connective or a
    pronoun with few topic terms of its own."""
    topical = len(content_terms(question))
    if topical <= SHORT_QUESTION_TERMS:
        return True
    return bool(_ANAPHORA.search(question)) and topical <= 2 * SHORT_QUESTION_TERMS


def standalone_query(question: str, history: Sequence[Turn]) -> str:
    """`question`, followed by the topic terms of recent user turns when it is a follow-up."""
    if not history or not is_follow_up(question):
        return question
    seen = set(content_terms(question))
    carried: list[str] = []
    recent_user_turns = [turn.content for turn in reversed(history) if turn.role == "user"]
    for text in recent_user_turns[:USER_TURNS_CONSULTED]:
        for word in keywords.tokens(text):
            stems = content_terms(word)
            if stems and stems[0] not in seen and len(carried) < MAX_CARRIED_TERMS:
                seen.add(stems[0])
                carried.append(word)  # as written, so the keyword index and the embedder see real words
    return f"{question} {' '.join(carried)}" if carried else question
