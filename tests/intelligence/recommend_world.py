"""A small help centre with readers and their events, for the recommendation tests, and a Lore per store
backend (SQLite, PostgreSQL) to hold it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from lore.backends.store.event_records import Event
from lore.config import Settings
from lore.intelligence.recommend.refresh import refresh
from lore.intelligence.recommend.serving import Recommended
from lore.models import DEFAULT_TENANT, Access, utcnow
from lore.service import Lore

ARTICLES = {
    "Reset your password": "Forgot your password? Open the sign-in page, choose reset password and follow the email link.",
    "Two-factor authentication": "Protect your account with a one-time code from an authenticator app at each sign-in.",
    "Change your email address": "Open account settings, edit the email field and confirm the new address from your inbox.",
    "Refund policy": "Refunds reach your card within five business days after we receive the returned item.",
    "Track your parcel": "Every order ships with a tracking number; follow the courier link in your order email.",
    "Cancel your subscription": "You can cancel your subscription at any time under billing; it ends at the period's close.",
    "Update your billing card": "Replace the card we charge under billing, payment methods; the old card is removed.",
    "Holiday opening hours": "Our support desk is closed on public holidays and answers again the next working day.",
}
LEGAL = Access(restricted=True, groups=("legal",))
VIEWER = frozenset({"user:dave"})


@pytest.fixture(params=["sqlite", "postgres"])
def lore(request: pytest.FixtureRequest, tmp_path: Path, model_cache: Path) -> Iterator[Lore]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=url,
        model_cache_dir=model_cache,
        parse_workers=1,
        embed_threads=1,
    )
    with Lore.open(settings) as service:
        yield service


def add_articles(lore: Lore, tenant_id: str = DEFAULT_TENANT) -> dict[str, str]:
    """Title -> document id."""
    return {
        title: lore.add_text(title=title, text=text, source=f"{title}.md", tenant_id=tenant_id).id
        for title, text in ARTICLES.items()
    }


def event(
    kind: str,
    user: str | None,
    document_id: str,
    *,
    value: float | None = None,
    at: datetime | None = None,
    tenant_id: str = DEFAULT_TENANT,
) -> Event:
    now = utcnow()
    return Event(
        tenant_id=tenant_id,
        event_id=uuid.uuid4().hex,
        kind=kind,
        at=at or now,
        received_at=now,
        actor="operator",
        user_id=user,
        document_id=document_id,
        value=value,
    )


def readers_of_both(
    lore: Lore, ids: dict[str, str], first: str, second: str, users: range, **options: object
) -> None:
    """Each of `users` views both articles (an hour apart)."""
    now = utcnow()
    lore.store.events.append(
        [
            event("view", f"reader-{u}", ids[title], at=now - timedelta(hours=hours), **options)  # type: ignore[arg-type]
            for u in users
            for title, hours in ((first, 2), (second, 1))
        ]
    )


def titles(found: Recommended) -> list[str]:
    return [item.title for item in found.items]


def refreshed(lore: Lore, tenant_id: str = DEFAULT_TENANT) -> int:
    record, _ = refresh(lore, tenant_id)
    return record.version
