"""Questions a new user asks about the demo knowledge base, answered by the offline `extractive` provider the
way a user gets them (real search over the ingested demo articles, the real provider chain): the covered ones
answered with the expected facts and cited to the article that holds them, the others abstained on.

A user's own article joins the demo for the password case: its procedure, ranked among the first passages,
must be answered as its steps in order, never with a command line or a sentence of another article.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from lore.answers import Answer, build_chain
from lore.config import Settings
from lore.conversations import Answering, Question
from lore.demo import demo_dir
from lore.service import Lore


class Case(NamedTuple):
    question: str
    facts: tuple[str, ...]  # each must be in the answer (case-insensitive)
    article: str  # file name of the demo article the answer must cite


COVERED = [
    Case("How do I add my documents to Lore?", ("lore ingest",), "getting-started.md"),
    Case("Which file types can Lore read?", ("markdown", "pdf", "docx"), "faq.md"),
    Case("My scanned PDF doesn't show up in search results", ("text layer", "ocr"), "faq.md"),
    Case("How do I back up my data?", ("lore backup",), "faq.md"),
    Case("Can I search only one collection?", ("collections",), "faq.md"),
    Case("How do I use Lore from an OpenAI client?", ("base url", "/v1"), "asking-questions.md"),
    Case("Does Lore need a GPU?", ("no", "cpu"), "faq.md"),
    Case("How do I change the port?", ("--port 9000", "LORE_PORT"), "faq.md"),
]
UNCOVERED = [
    "Can Lore import articles from Zendesk automatically?",
    "How do I reset my account password?",
    "Does Lore integrate with Slack?",
    "What does the enterprise plan cost?",
]
PASSWORD_ARTICLE = """---
title: Resetting your password
---
# Resetting your password

This article explains how to reset the password of your account when you have forgotten it.

## Reset your password

1. Open the sign-in page and choose **Forgot password?**.
2. Enter the email address you use to sign in, then choose **Send link**.
3. Open the email from us and follow the link within 30 minutes.
4. Choose a new password of at least 12 characters and confirm it.

## Administrators

An administrator can also send a reset link from the admin console:

```sh
acmectl users reset-password --email user@example.com
```

| setting | default |
|---|---|
| link lifetime | 30 minutes |
"""
STEPS = [
    "Open the sign-in page and choose Forgot password?",
    "Enter the email address you use to sign in, then choose Send link",
    "Open the email from us and follow the link within 30 minutes",
    "Choose a new password of at least 12 characters and confirm it",
]


@pytest.fixture(scope="module")
def answering(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Iterator[Answering]:
    """The demo articles in `demo`, the user's password article in `help`."""
    root = tmp_path_factory.mktemp("support")
    (root / "mine").mkdir()
    (root / "mine" / "passwords.md").write_text(PASSWORD_ARTICLE, encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=root / "data", model_cache_dir=model_cache)
    with Lore.open(settings) as lore:
        lore.ingest_paths([demo_dir()], collection="demo")
        lore.ingest_paths([root / "mine"], collection="help")
        yield Answering(lore, build_chain(settings), lore.store.conversations)


def ask(answering: Answering, question: str, collections: list[str] | None = None) -> Answer:
    grounding = answering.ground("default", Question(question, collections=collections))
    return answering.chain.complete(grounding.request, ["extractive"])


@pytest.mark.parametrize("case", COVERED, ids=[case.question for case in COVERED])
def test_a_covered_question_is_answered_with_its_facts_and_cited(answering: Answering, case: Case) -> None:
    answer = ask(answering, case.question, ["demo"])

    assert not answer.abstained, answer.text
    for fact in case.facts:
        assert fact.lower() in answer.text.lower(), answer.text
    assert case.article in {Path(citation.source).name for citation in answer.citations}, answer.text
    assert len(answer.text.split()) <= 120


@pytest.mark.parametrize("question", UNCOVERED)
def test_a_question_the_articles_do_not_cover_is_abstained_on(answering: Answering, question: str) -> None:
    answer = ask(answering, question, ["demo"])

    assert answer.abstained, answer.text
    assert answer.citations == ()


def test_a_procedure_is_answered_as_its_steps_in_order(answering: Answering) -> None:
    answer = ask(answering, "How do I reset my password?")

    assert not answer.abstained
    lines = answer.text.splitlines()
    assert [re.sub(r"^\d+\. | \[\d+\]\.?$", "", line) for line in lines] == STEPS
    assert [line.split(".")[0] for line in lines] == ["1", "2", "3", "4"]
    assert {Path(citation.source).name for citation in answer.citations} == {"passwords.md"}
    assert "lore search" not in answer.text and "acmectl" not in answer.text


def test_no_answer_sentence_is_code_a_table_row_a_heading_or_about_the_article(answering: Answering) -> None:
    questions = [case.question for case in COVERED] + ["How do I reset my password?", "How do I get started?"]
    for question in questions:
        text = ask(answering, question).text
        prose = [line for line in text.splitlines() if not line.startswith("`")]  # code shown as code
        assert not any(" | " in line for line in prose), text
        assert not any(line.lstrip().startswith(("lore ", ".venv/", "curl ", "$ ")) for line in prose), text
        assert "This article" not in text and "See " not in text, text
