import pytest

from lore.core.highlight import _WORD, _stem, make_snippet, query_stems


def marked(text: str, query: str) -> list[str]:
    snippet = make_snippet(text, query)
    return [snippet.text[a:b] for a, b in snippet.highlights]


def test_highlights_query_words_and_their_inflections() -> None:
    assert marked("Reset your password. Passwords expire yearly.", "reset passwords") == [
        "Reset",
        "password",
        "Passwords",
    ]


def test_short_text_is_whole_and_unmarked_when_nothing_matches() -> None:
    snippet = make_snippet("Billing happens monthly.", "refund")
    assert snippet.text == "Billing happens monthly."
    assert snippet.highlights == []


def test_long_text_is_cut_around_the_densest_matches() -> None:
    text = (
        "filler words here. " * 60
        + "The refund window is thirty days for every refund. "
        + "more filler. " * 60
    )
    snippet = make_snippet(text, "refund window", width=120)
    assert snippet.text.startswith("… ") and snippet.text.endswith(" …")
    assert len(snippet.text) <= 130
    assert [snippet.text[a:b] for a, b in snippet.highlights] == ["refund", "window", "refund"]


def test_ascii_fast_path_marks_the_same_words_as_the_unicode_path() -> None:
    """ASCII text is scanned by a regex built from the query's stems; any other text word by word."""
    text = (
        "Refunds are refunded within 14 days; a refund-request is reviewed. Passes, passing and the pass "
        "expire. Resetting, RESETS, reset. Organisations organise organizations. Studies studied study."
    )
    query = "refund pass resets organisation study 14"
    ascii_marks = marked(text, query)
    unicode_marks = marked(text + " é", query)
    assert ascii_marks == unicode_marks
    assert "Refunds" in ascii_marks and "RESETS" in ascii_marks and "refunded" in ascii_marks


def word_by_word(text: str, query: str) -> list[str]:
    """What a snippet of a short text marks by definition: each word whose stem is a query word's stem."""
    stems = query_stems(query)
    text = " ".join(text.split())
    return [m.group() for m in _WORD.finditer(text) if _stem(m.group()) in stems]


MIXED = (
    "A cat concatenates scatter cats; (1) and 1 differ. cell cells cellular excel. snake_case snake "
    "a an and the. Analyses analysis analysing ana. x2 2x 22 tested testing tests."
)
UNICODE = (
    "Naïve cells, naive cell; Straße strasse STRASSE. ﬁle files file. αβγ-cells cellsα βcell µm "
    "\u212aelvin kelvin İstanbul istanbul. Café cafe caféine. Ωmega omega_Ω 10µg 10 µg."
)


@pytest.mark.parametrize("text", [MIXED, UNICODE, MIXED + " " + UNICODE])
@pytest.mark.parametrize(
    "query",
    [
        "cat",
        "cell cel",
        "(1) ⑴ 1",
        "snake_case snake",
        "a an the and",
        "analysis ana",
        "2 x2 test",
        "naive strasse file",
        "kelvin istanbul café",
        "µm µg omega αβγ cells",
    ],
)
def test_marks_the_words_sharing_a_query_stem_and_nothing_else(text: str, query: str) -> None:
    """Words found by their stems (ASCII, however much other text is around) or read one by one (words with
    other characters) are exactly the words whose stem is a query stem: not parts of longer words, not
    punctuation a query word normalises to ("⑴" is "(1)")."""
    snippet = make_snippet(text, query, width=len(text))
    assert [snippet.text[a:b] for a, b in snippet.highlights] == word_by_word(text, query)


def test_marks_whole_words_only() -> None:
    assert marked(MIXED, "cat") == ["cat", "cats"]
    assert marked(MIXED, "⑴") == []
    assert marked(UNICODE, "naive") == ["naive"]
    assert marked(UNICODE, "cells") == ["cells", "cell", "cells"]
