from __future__ import annotations

import doctest

import pytest

from lore.core import keywords
from lore.core.keywords import index_text, query_terms, tokens


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, World!", ["hello", "world"]),
        ("snake_case and x-ray", ["snake", "case", "and", "x", "ray"]),
        ("ＡＢＣ ﬁle", ["abc", "file"]),  # NFKC: full-width letters and ligatures
        ("Straße STRASSE", ["strasse", "strasse"]),  # case folding, not just lower-casing
        ("café naïve", ["café", "naïve"]),  # diacritics are the index tokenizer's business
        ("version 3.14", ["version", "3", "14"]),
    ],
)
def test_words_are_normalised_runs_of_letters_and_digits(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("重置密码", ["重置", "置密", "密码"]),
        ("码", ["码"]),
        ("カタカナ", ["カタ", "タカ", "カナ"]),
        ("ｶﾀｶﾅ", ["カタ", "タカ", "カナ"]),  # half-width kana become full-width first
        ("iPhone手机壳", ["iphone", "手机", "机壳"]),
        ("东京, 大阪", ["东京", "大阪"]),
    ],
)
def test_unspaced_scripts_become_overlapping_bigrams(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_thai_bigrams_keep_vowel_signs_with_their_consonant() -> None:
    # "กัน" is ก + ั (a combining vowel sign) + น: two characters to a reader, so one bigram
    assert tokens("กัน") == ["กัน"]
    assert tokens("สวัสดี") == ["สวั", "วัส", "สดี"]


def test_spaced_scripts_with_combining_marks_stay_whole() -> None:
    assert tokens("हिन्दी भाषा") == ["हिन्दी", "भाषा"]
    assert tokens("한국어 문장") == ["한국어", "문장"]


def test_index_text_joins_terms_with_spaces() -> None:
    assert index_text("Reset the password: 重置密码") == "reset the password 重置 置密 密码"


def test_query_terms_drop_duplicates_and_stop_words() -> None:
    assert query_terms("How do I reset the password? Reset it!") == ["reset", "password"]


def test_query_of_only_stop_words_keeps_them() -> None:
    assert query_terms("to be or not to be") == ["to", "be", "or", "not"]


def test_query_without_words_has_no_terms() -> None:
    assert query_terms(' "*" () - ') == []


def test_long_queries_are_capped() -> None:
    query = " ".join(f"word{i}" for i in range(keywords.MAX_QUERY_TERMS + 10))
    assert len(query_terms(query)) == keywords.MAX_QUERY_TERMS


def test_module_examples_hold() -> None:
    assert doctest.testmod(keywords).failed == 0
