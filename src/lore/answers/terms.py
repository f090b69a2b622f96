"""Content terms of questions and sentences, normalised as the keyword index does and lightly stemmed, so
"refunds" meets "refund" and "processed" meets "processing".

    >>> content_terms("How long does a refund take?")
    ['refund']
"""

from __future__ import annotations

from lore.core import keywords
from lore.core.bm25 import stem

# Words that shape a question without naming its topic: matching them says nothing about relevance.
_FILLER_TEXT = """
also anyone anything around called can could found get gets getting give go going happen happens help
kind know known let like long made main make makes many much name named need needs often one please
possible said say take takes taking tell thing things type upon use used using usual usually want way
ways would
"""
_QUESTION_FILLER = frozenset(_FILLER_TEXT.split())


def content_terms(text: str) -> list[str]:
    """Distinct stemmed terms of `text` that carry its topic, in order of first appearance."""
    terms = (stem(term) for term in keywords.tokens(text) if _is_content(term))
    return list(dict.fromkeys(terms))


def term_set(text: str) -> set[str]:
    """Every stemmed term of `text`, stop words included: what a sentence offers to match against."""
    return {stem(term) for term in keywords.tokens(text)}


def _is_content(term: str) -> bool:
    single_letter = len(term) == 1 and term.isascii() and term.isalpha()  # "U.S." gives "u" and "s"
    return not single_letter and term not in keywords.STOP_WORDS and term not in _QUESTION_FILLER
