"""`lore gaps` and `lore gaps promote` as real processes over a data dir: the report as the API's `GapsOut`
(--json) or a table, and an answer promoted to a restricted draft."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lore.config import Settings
from lore.conversations import Question, open_answering
from lore.models import DEFAULT_TENANT
from lore.service import Lore
from lore.wire.gaps import GapsOut
from lore.wire.schemas import DocumentOut
from tests.cli.conftest import run
from tests.intelligence.gap_events import answer, days_before, search

WINDOW = ["--since", "2025-03-01", "--until", "2025-03-29"]  # conftest's SINCE and UNTIL
INVOICES = ["How do I download my invoice as a PDF?", "Can I export invoices to PDF?", "download invoice pdf"]


@pytest.fixture
def env(tmp_path: Path, model_cache: Path) -> dict[str, str]:
    return {**os.environ, "LORE_DATA_DIR": str(tmp_path / "data"), "LORE_MODEL_CACHE_DIR": str(model_cache)}


@pytest.fixture
def answered(env: dict[str, str]) -> tuple[str, int]:
    """A help centre with invoice questions poorly served, and one good answer: its (conversation, message)."""
    settings = Settings(_env_file=None, data_dir=Path(env["LORE_DATA_DIR"]), embed_threads=1, parse_workers=1)
    with Lore.open(settings) as lore:
        lore.add_text(title="Billing", text="Invoices are emailed on the first day of every month.")
        lore.store.events.append(
            [
                answer(INVOICES[0], 1, at=days_before(3), abstained=True, user_id="ann"),
                answer(INVOICES[1], 2, at=days_before(2), confidence=0.2, user_id="bob"),
                search(INVOICES[2], "s1", at=days_before(1)),
            ]
        )
        answering = open_answering(lore)
        conversation = answering.records.create(DEFAULT_TENANT)
        grounding = answering.prepare(DEFAULT_TENANT, conversation.id, Question("When are invoices emailed?"))
        *_, turn = answering.answer(grounding)
        return conversation.id, turn.answer.id


def test_gaps_json_is_the_apis_report(env: dict[str, str], answered: tuple[str, int]) -> None:
    printed = run("gaps", "--json", *WINDOW, env=env).stdout

    report = GapsOut.model_validate_json(printed)
    [topic] = report.topics
    assert report.questions == 3 and topic.count == 3 and set(topic.examples) == set(INVOICES)
    assert topic.reasons.abstained == 1 and topic.reasons.low_confidence == 1 and topic.reasons.no_click == 1
    assert [article.title for article in topic.articles] == ["Billing"]
    assert topic.label in run("gaps", *WINDOW, env=env).stdout
    assert json.loads(run("gaps", "--json", "--min-count", "4", *WINDOW, env=env).stdout)["topics"] == []


def test_gaps_promote_makes_a_restricted_draft(env: dict[str, str], answered: tuple[str, int]) -> None:
    conversation, message = answered

    printed = run("gaps", "promote", conversation, str(message), "--json", env=env).stdout

    draft = DocumentOut.model_validate_json(printed)
    assert draft.restricted and draft.tags == ["draft"] and draft.collection == "drafts"
    assert draft.title == "When are invoices emailed?" and draft.owner == "operator"
    missing = run("gaps", "promote", conversation, str(message + 99), env=env, check=False)
    assert missing.returncode == 2 and "error [not_found]" in missing.stderr
