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
