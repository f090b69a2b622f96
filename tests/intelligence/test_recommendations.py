"""Related articles and personal recommendations through the service, on SQLite and PostgreSQL: content and
co-engagement, near-duplicates, cold start, what is never recommended (rejected, already read, unreadable),
tenants kept apart, reasons, and refreshes that move the version."""

from __future__ import annotations

import pytest

from lore.errors import NotFound
from lore.intelligence.recommend import serving
from lore.intelligence.recommend.refresh import JOB, queue_if_stale, stale
from lore.intelligence.recommend.serving import Recommendations
from lore.jobs.queue import JobQueue
from lore.jobs.registry import kind
from lore.models import DEFAULT_TENANT
from lore.service import Lore
from tests.intelligence.recommend_world import (
    LEGAL,
    VIEWER,
    add_articles,
    event,
    lore,
    readers_of_both,
    refreshed,
    titles,
)

__all__ = ["lore"]  # the fixture: a Lore on each store backend


def related(lore: Lore, document_id: str, k: int = 5, readers: frozenset[str] | None = None) -> list[str]:
    found = lore.recommendations.related(DEFAULT_TENANT, document_id, k=k, readers=readers, collections=None)
    return titles(found)


def test_a_tenant_without_a_model_gets_nothing_until_its_first_refresh(
    lore: Lore, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not stale(lore.store, DEFAULT_TENANT)  # no documents, no events: nothing to fit
    ids = add_articles(lore)
    assert stale(lore.store, DEFAULT_TENANT)
    empty = lore.recommendations.for_user(DEFAULT_TENANT, "me", k=3, readers=None, collections=None)
    assert empty.items == [] and empty.model is None
    assert (
        lore.recommendations.related(
            DEFAULT_TENANT, ids["Refund policy"], k=3, readers=None, collections=None
        ).items
        == []
    )
    refreshed(lore)
    assert not stale(lore.store, DEFAULT_TENANT)
    elsewhere = Recommendations(lore.store, lore.recommendations.visibility, lore.models, lore.settings)
    found = elsewhere.related(DEFAULT_TENANT, ids["Refund policy"], k=3, readers=None, collections=None)
    assert found.model is not None and found.model.version == 1  # loaded from the store, as another process
    assert found.items and found.items[0].reason.startswith("similar to")
    monkeypatch.setattr(serving, "CHECK_SECONDS", 0.0)  # every request looks for a newer version
    held = elsewhere.current(DEFAULT_TENANT)[1]
    assert elsewhere.current(DEFAULT_TENANT)[1] is held  # the same version: not loaded again
    refreshed_version = (
        lore.store.events.append([event("view", "u", ids["Refund policy"])]),
        refreshed(lore),
    )
    assert elsewhere.current(DEFAULT_TENANT)[0].version == refreshed_version[1]  # type: ignore[union-attr]


def test_related_articles_follow_content_and_then_co_engagement(lore: Lore) -> None:
    ids = add_articles(lore)
    refreshed(lore)
    found = lore.recommendations.related(
        DEFAULT_TENANT, ids["Reset your password"], k=3, readers=None, collections=None
    )
    assert found.items and found.model is not None
    assert found.items[0].title in {"Two-factor authentication", "Change your email address"}
    assert all(item.reason == "similar to Reset your password" for item in found.items)
    assert "Holiday opening hours" not in titles(found)
    readers_of_both(lore, ids, "Reset your password", "Holiday opening hours", range(8))
    refreshed(lore)
    found = lore.recommendations.related(
        DEFAULT_TENANT, ids["Reset your password"], k=3, readers=None, collections=None
    )
    assert titles(found)[0] == "Holiday opening hours"
    assert found.items[0].reason == "people who read Reset your password also read this"


def test_related_articles_leave_out_near_duplicates_and_namesakes(lore: Lore) -> None:
    ids = add_articles(lore)
    text = "Forgot your password? Open the sign-in page, choose reset password and follow the email link."
    copy = lore.add_text(title="Password reset", text=text, source="copy.md").id
    lore.add_text(
        title="Reset your password", text="Passwords: the reset page.", source="x.md", collection="old"
    )
    refreshed(lore)
    found = related(lore, ids["Reset your password"], k=10)
    assert "Password reset" not in found and "Reset your password" not in found
    found_for_copy = lore.recommendations.related(DEFAULT_TENANT, copy, k=10, readers=None, collections=None)
    assert ids["Reset your password"] not in {item.document_id for item in found_for_copy.items}
    assert len(found) == len(ids) - 1


def test_a_document_newer_than_the_model_has_related_documents_by_its_content(lore: Lore) -> None:
    add_articles(lore)
    refreshed(lore)
    new = lore.add_text(title="Forgotten passwords", text="Reset a forgotten password from the sign-in page.")
    found = lore.recommendations.related(DEFAULT_TENANT, new.id, k=2, readers=None, collections=None)
    assert titles(found)[0] == "Reset your password"
    assert found.items[0].reason == "similar to Forgotten passwords"


def test_a_new_user_gets_what_is_popular_and_what_matches_the_question(lore: Lore) -> None:
    ids = add_articles(lore)
    lore.store.events.append([event("view", f"u{u}", ids["Refund policy"]) for u in range(5)])
    lore.store.events.append([event("view", f"u{u}", ids["Track your parcel"]) for u in range(3)])
    refreshed(lore)
    cold = lore.recommendations.for_user(DEFAULT_TENANT, "newcomer", k=2, readers=None, collections=None)
    assert titles(cold) == ["Refund policy", "Track your parcel"]
    assert {item.reason for item in cold.items} == {"popular this month"}
    asked = lore.recommendations.for_user(
        DEFAULT_TENANT, "newcomer", k=3, readers=None, collections=None, context="how do I stop my plan?"
    )
    assert titles(asked)[0] == "Cancel your subscription"
    assert asked.items[0].reason == "matches your question"


def test_personal_recommendations_learn_from_people_alike(lore: Lore) -> None:
    ids = add_articles(lore)
    readers_of_both(lore, ids, "Refund policy", "Holiday opening hours", range(6))
    lore.store.events.append([event("view", f"p{u}", ids["Track your parcel"]) for u in range(12)])
    lore.store.events.append([event("view", "me", ids["Refund policy"])])
    refreshed(lore)
    mine = lore.recommendations.for_user(DEFAULT_TENANT, "me", k=3, readers=None, collections=None)
    assert titles(mine)[0] == "Holiday opening hours"
    assert mine.items[0].reason == "people who read Refund policy also read this"
    assert "Refund policy" not in titles(mine)  # already read


def test_rejected_read_and_unreadable_articles_are_never_recommended(lore: Lore) -> None:
    ids = add_articles(lore)
    lore.store.groups.create(DEFAULT_TENANT, "legal")
    secret = lore.add_text(
        title="Settlement terms", text="Confidential refunds.", source="s.md", access=LEGAL
    ).id
    everyone = [*ids.values(), secret]
    lore.store.events.append([event("view", f"u{u}", d) for u in range(4) for d in everyone])
    lore.store.events.append([event("view", f"u{u}", secret) for u in range(10)])  # the most popular
    lore.store.events.append(
        [
            event("not_helpful", "me", ids["Refund policy"]),
            event("rating", "me", ids["Track your parcel"], value=2),
            event("rating", "me", ids["Holiday opening hours"], value=5),
        ]
    )
    refreshed(lore)
    mine = titles(lore.recommendations.for_user(DEFAULT_TENANT, "me", k=20, readers=VIEWER, collections=None))
    assert mine and not {
        "Refund policy",
        "Track your parcel",
        "Holiday opening hours",
        "Settlement terms",
    } & set(mine)
    admin = titles(lore.recommendations.for_user(DEFAULT_TENANT, "me", k=20, readers=None, collections=None))
    assert admin[0] == "Settlement terms"
    assert "Settlement terms" not in related(lore, ids["Refund policy"], k=20, readers=VIEWER)
    with pytest.raises(NotFound):
        related(lore, secret, readers=VIEWER)
    lore.delete_document(ids["Cancel your subscription"])  # deleted since the fit: gone at once
    assert "Cancel your subscription" not in titles(
        lore.recommendations.for_user(DEFAULT_TENANT, "me", k=20, readers=None, collections=None)
    )


def test_another_tenants_events_never_shape_recommendations(lore: Lore) -> None:
    ids = add_articles(lore)
    lore.store.tenants.create("acme")
    theirs = add_articles(lore, tenant_id="acme")
    lore.store.events.append([event("view", f"u{u}", ids["Refund policy"]) for u in range(3)])
    version = refreshed(lore)
    before = lore.recommendations.for_user(DEFAULT_TENANT, "me", k=5, readers=None, collections=None)
    lore.store.events.append(
        [event("view", f"u{u}", theirs["Holiday opening hours"], tenant_id="acme") for u in range(20)]
        + [event("view", f"u{u}", ids["Holiday opening hours"], tenant_id="acme") for u in range(20)]
    )
    assert refreshed(lore) == version  # nothing of this tenant changed: no new version
    after = lore.recommendations.for_user(DEFAULT_TENANT, "me", k=5, readers=None, collections=None)
    assert titles(after) == titles(before) and titles(after)[0] == "Refund policy"
    refreshed(lore, "acme")
    acme = lore.recommendations.for_user("acme", "me", k=1, readers=None, collections=None)
    assert (
        titles(acme) == ["Holiday opening hours"]
        and acme.items[0].document_id == theirs["Holiday opening hours"]
    )


def test_the_refresh_job_fits_a_new_version_and_the_scheduler_queues_one_at_a_time(lore: Lore) -> None:
    ids = add_articles(lore)
    queue = JobQueue.over(lore.store.jobs, lore.settings)
    try:
        assert queue_if_stale(lore.store, queue, DEFAULT_TENANT)  # documents and no model yet
        assert not queue_if_stale(lore.store, queue, DEFAULT_TENANT)  # one is queued already
        run = kind(JOB).run
        first = run(lore, {"tenant_id": DEFAULT_TENANT}, lambda done, total: None)
        assert first["fitted"] and first["version"] == 1
        assert run(lore, {"tenant_id": DEFAULT_TENANT}, lambda done, total: None)["fitted"] is False
        lore.store.events.append([event("helpful", "u1", ids["Refund policy"])])
        second = run(lore, {"tenant_id": DEFAULT_TENANT}, lambda done, total: None)
        assert second["version"] == 2 and second["model_id"] != first["model_id"]
        assert lore.recommendations.current(DEFAULT_TENANT)[0].version == 2  # type: ignore[union-attr]
        assert not queue_if_stale(lore.store, queue, DEFAULT_TENANT)  # current, and one is still queued
        (queued,) = queue.list(tenant_id=DEFAULT_TENANT, kind=JOB).items
        assert lore.store.jobs.claim(queued.id, "test-worker", 60) is not None  # now running, none queued
        assert not queue_if_stale(lore.store, queue, DEFAULT_TENANT)  # and nothing new since version 2
        lore.store.events.append([event("view", "u2", ids["Refund policy"])])
        assert queue_if_stale(lore.store, queue, DEFAULT_TENANT)
    finally:
        queue.close()
