"""The units a block too big for one chunk is cut into."""

from __future__ import annotations

from lore.core.splitting import TEXT_SPLITTERS, hard_split, lines, sentences, split_text, words


def joined(units: list[tuple[str, str]]) -> str:
    return units[0][0] + "".join(sep + text for text, sep in units[1:])


def test_sentences_end_at_terminal_punctuation_followed_by_a_capital_or_digit() -> None:
    text = 'Run it, e.g. now. Version 1.2 works! Does it? "Yes." (Really.) 3 steps remain… Done'
    assert [text for text, _ in sentences(text)] == [
        "Run it, e.g. now.",
        "Version 1.2 works!",
        "Does it?",
        '"Yes."',
        "(Really.)",
        "3 steps remain…",
        "Done",
    ]
    assert joined(sentences(text)) == text


def test_sentences_of_scripts_written_without_spaces() -> None:
    assert [text for text, _ in sentences("東京です。大阪です。")] == ["東京です。", "大阪です。"]


def test_lines_keep_indentation_and_blank_lines_as_separators() -> None:
    code = "def f():\n    return 1\n\n\nprint(f())"
    assert lines(code) == [("def f():", "\n"), ("    return 1", "\n"), ("print(f())", "\n\n\n")]
    assert joined(lines(code)) == code


def test_split_text_falls_back_to_words_then_characters() -> None:
    def count(text: str) -> int:
        return len(text)  # one token per character makes the limits easy to see

    text = "Short one. Averyveryverylongword fits."
    assert split_text(text, TEXT_SPLITTERS["sentences"], 12, count, 100) == [
        ("Short one.", " ", 10),
        ("Averyveryver", " ", 12),
        ("ylongword", "", 9),
        ("fits.", " ", 5),
    ]


def test_hard_split_takes_the_longest_prefix_that_fits() -> None:
    parts = hard_split("abcdefghij", 4, len, 100)
    assert parts == [("abcd", "", 4), ("efgh", "", 4), ("ij", "", 2)]


def test_units_are_bounded_in_characters_when_tokens_do_not_bound_them() -> None:
    def one_token(text: str) -> int:
        return 1  # like a tokenizer that reads any long word as one unknown token

    text = "tiny " + "x" * 25 + " end."
    parts = split_text(text, TEXT_SPLITTERS["sentences"], 12, one_token, 10)
    assert [unit for unit, _, _ in parts] == ["tiny", "x" * 10, "x" * 10, "x" * 5, "end."]
    assert [sep for _, sep, _ in parts] == [" ", " ", "", "", " "]


def test_words() -> None:
    assert words(" a  b\nc ") == [("a", " "), ("b", " "), ("c", " ")]
