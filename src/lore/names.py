"""Names users choose that become parts of index partition names, cache keys and file paths."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lore.errors import InvalidInput, NotFound

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(kind: str, name: str) -> str:
    """Tenant and collection names: 1-64 plain characters, so they are safe in any key or path."""
    if not _NAME.match(name):
        raise InvalidInput(
            f"invalid {kind} name {name!r}: use 1-64 letters, digits, '.', '_' or '-'", details={kind: name}
        )
    return name


def no_collection(name: str, known: Iterable[str]) -> NotFound:
    """An unknown collection, said with the collections there are (an error, never an empty result)."""
    there = sorted(known)
    listed = ", ".join(there) or "none yet"
    return NotFound(
        f"no collection {name!r} (collections: {listed})", details={"collection": name, "collections": there}
    )
