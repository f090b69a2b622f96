"""`lore ask` as a user runs it: a real process over a real store (SQLite, PostgreSQL), the answer streamed to
stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lore.answers import ABSTENTION
from lore.wire.conversations import MessageOut
from tests.cli.conftest import run


@pytest.fixture
def help_centre(tmp_path: Path, store_env: dict[str, str]) -> dict[str, str]:
    """A few articles ingested, on SQLite and on PostgreSQL; the environment that reaches them."""
    env = store_env
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text(
        "# Billing\n\n## Requesting a refund\n\nTo get a refund, open Billing and choose Request refund.\n"
    )
    (docs / "timing.md").write_text(
        "# Refund timing\n\nA refund takes five business days to reach your card.\n"
    )
    (docs / "shipping.md").write_text("# Shipping\n\nOrders ship within two days. Delivery takes a week.\n")
    run("ingest", str(docs), env=env)
    return env


def test_ask_streams_a_cited_answer_and_lists_its_sources(help_centre: dict[str, str]) -> None:
    result = run("ask", "How do I get a refund?", env=help_centre)

    answer, _, rest = result.stdout.partition("\n\nSources\n")
    assert "Request refund [1]" in answer
    assert "[1] Billing › Requesting a refund" in rest and "refunds.md" in rest
    assert "--conversation " in rest


def test_a_follow_up_continues_the_conversation(help_centre: dict[str, str]) -> None:
    first = json.loads(run("ask", "How do I get a refund?", "--json", env=help_centre).stdout)
    conversation = first["conversation_id"]

    follow_up = json.loads(
        run(
            "ask", "And how long does that take?", "--conversation", conversation, "--json", env=help_centre
        ).stdout
    )

    assert follow_up["conversation_id"] == conversation
    answer = follow_up["answer"]
    for message in (follow_up["question"], answer):  # the API's shape of a message
        assert MessageOut.model_validate(message).model_dump(mode="json") == message
    assert "five business days" in answer["content"]
    assert answer["citations"][0]["source"].endswith("timing.md")
    assert answer["usage"]["provider"] == "extractive"
    assert answer["metadata"]["reply_to"] == follow_up["question"]["id"]


def test_ask_says_it_does_not_know(help_centre: dict[str, str]) -> None:
    result = json.loads(run("ask", "What is the capital of Mongolia?", "--json", env=help_centre).stdout)

    assert result["answer"]["content"] == ABSTENTION
    assert result["answer"]["metadata"]["abstained"] is True


def test_ask_errors_are_one_line_with_a_code(help_centre: dict[str, str]) -> None:
    unknown = run("ask", "Refund?", "--conversation", "nope", env=help_centre, check=False)
    assert unknown.returncode == 2 and unknown.stderr.startswith("error [not_found]")

    provider = run("ask", "Refund?", "--provider", "oracle", env=help_centre, check=False)
    assert provider.returncode == 2 and "error [invalid_input]" in provider.stderr
    assert "Traceback" not in provider.stderr
