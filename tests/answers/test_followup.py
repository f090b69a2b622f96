from pathlib import Path

from lore.answers.followup import is_follow_up, standalone_query
from lore.answers.types import Turn
from lore.config import Settings
from lore.core.retrieve import SearchRequest
from lore.models import DEFAULT_TENANT
from lore.service import Lore

REFUND_HISTORY = [
    Turn("user", "How do I get a refund for my order?"),
    Turn("assistant", "Open Orders, pick the order and choose Request refund [1]."),
]


def test_a_short_anaphoric_follow_up_carries_the_earlier_topic() -> None:
    query = standalone_query("and how long does that take?", REFUND_HISTORY)
    assert query.startswith("and how long does that take?")
    assert "refund" in query.split()


def test_a_self_contained_question_is_left_alone() -> None:
    question = "How do I change the email address of my account settings?"
    assert not is_follow_up(question)
    assert standalone_query(question, REFUND_HISTORY) == question


def test_without_history_the_question_is_the_query() -> None:
    assert standalone_query("and how long does that take?", []) == "and how long does that take?"


def test_only_user_turns_are_carried_and_terms_are_not_repeated() -> None:
    history = [Turn("user", "Refund for my order"), Turn("assistant", "Shipping labels are free.")]
    query = standalone_query("what about the refund fee?", history)
    assert query == "what about the refund fee? order"


def test_the_rewritten_query_retrieves_refund_timing(tmp_path: Path, model_cache: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", model_cache_dir=model_cache)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text("# Refund timing\n\nA refund is paid back within five business days.\n")
    (docs / "shipping.md").write_text(
        "# Shipping\n\nParcels take three days to arrive. Delivery takes longer on islands.\n"
    )
    (docs / "setup.md").write_text("# Installing the app\n\nThe installation takes about two minutes.\n")
    with Lore.open(settings) as lore:
        lore.ingest_paths([docs])

        def top(query: str) -> str:
            return Path(lore.search(SearchRequest(DEFAULT_TENANT, query, k=1))[0].chunk.source).name

        follow_up = "and how long does that take?"
        assert top(follow_up) != "refunds.md"
        assert top(standalone_query(follow_up, REFUND_HISTORY)) == "refunds.md"
