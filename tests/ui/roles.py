"""Users of other roles for the pages' permission tests, made the way an admin adds them."""

from __future__ import annotations

import uuid

from lore.models import DEFAULT_TENANT
from lore.security.principal import operator
from tests.ui.conftest import Site

PASSWORD = "correct horse battery staple 42"


def add_user(site: Site, role: str) -> str:
    """A new user of `role` in the site's tenant, signing in with PASSWORD; its email."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    site.live.app.state.identity.accounts.create(operator(DEFAULT_TENANT), email, role, PASSWORD)
    return email
