"""The estimate of an HTML tree builder's work that keeps deeply nested markup from taking quadratic time."""

from __future__ import annotations

import doctest

import pytest

from lore.core.parsers import _nesting
from lore.core.parsers._nesting import WORK_PER_CHAR, check_nesting, nesting_work
from lore.demo import demo_dir
from lore.errors import DocumentTooComplex


def test_the_module_example_holds() -> None:
    assert doctest.testmod(_nesting).failed == 0


def test_siblings_whose_end_tags_are_left_out_do_not_nest() -> None:
    siblings = "<ul>" + "<li>item" * 1_000 + "</ul>"
    nested = "<ul>" + "<li>item<ul>" * 1_000
    assert nesting_work(siblings) < 3 * 1_000
    assert nesting_work(nested) > 1_000 * 1_000  # each level is a list inside an item: it really nests
    assert nesting_work("<p>one<p>two<p>three") == 0 + 1 + 1


def test_void_elements_comments_and_raw_text_open_nothing() -> None:
    assert nesting_work("<br>" * 1_000 + "<img src=x>" * 1_000) == 0
    assert nesting_work("<!--" + "<div>" * 1_000 + "-->") == 0
    assert nesting_work("<script>" + "<div>" * 1_000 + "</SCRIPT><div>") == 0
    assert nesting_work("<!-- never closed " + "<div>" * 1_000) == 0


def test_stray_end_tags_count_the_stack_they_search() -> None:
    assert nesting_work("<span>" * 10 + "</x>" * 5) == sum(range(10)) + 5 * 10


def test_the_demo_pages_are_far_from_the_limit() -> None:
    for path in demo_dir().glob("*.html"):
        markup = path.read_text()
        assert nesting_work(markup) < len(markup) / 2 < WORK_PER_CHAR * len(markup)
        check_nesting(markup)


def test_a_limit_stops_the_scan_early() -> None:
    assert nesting_work("<div>" * 100_000, limit=1_000) < 2_000


def test_markup_nested_too_deeply_for_its_length_is_refused() -> None:
    check_nesting("<div>" * 2_000 + "</div>" * 2_000)  # legitimate, if deep
    with pytest.raises(DocumentTooComplex, match="nest too deeply"):
        check_nesting("<div>" * 20_000)
