from lore.core.highlight import make_snippet


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


def test_ascii_fast_path_marks_whole_words_only() -> None:
    """Query words found inside longer words, stems that are prefixes of one another, digits, underscores and
    query words that normalise to punctuation ("⑴" is "(1)") mark what the word-by-word path marks."""
    text = (
        "A cat concatenates scatter cats; (1) and 1 differ. cell cells cellular excel. snake_case snake "
        "a an and the. Analyses analysis analysing ana. x2 2x 22 tested testing tests."
    )
    for query in (
        "cat",
        "cell cel",
        "(1) ⑴ 1",
        "snake_case snake",
        "a an the and",
        "analysis ana",
        "2 x2 test",
    ):
        assert marked(text, query) == marked(text + " é", query), query
    assert marked(text, "cat") == ["cat", "cats"]
    assert marked(text, "⑴") == []
