"""Ids as the command line takes them: in full, or any unique prefix of at least `MIN_PREFIX` characters.

Tables print the first `SHORT` characters of each id, which are unique in practice and accepted back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lore.errors import InvalidInput, NotFound
from lore.models import DEFAULT_TENANT

if TYPE_CHECKING:
    import sqlalchemy as sa

MIN_PREFIX = 4
SHORT = 12
_SHOWN = 10  # candidates an ambiguous prefix lists


def short(record_id: str) -> str:
    return record_id[:SHORT]


def resolve(engine: sa.Engine, kind: str, given: str, tenant_id: str = DEFAULT_TENANT) -> str:
    """The full id `given` names: itself, or the one id it begins; `NotFound` or `InvalidInput` (ambiguous,
    with the candidates) otherwise."""
    from lore.backends.store.prefixes import ids_with_prefix

    found = ids_with_prefix(engine, kind, given, tenant_id, _SHOWN + 1)
    if given in found:
        return given
    if not found or len(given) < MIN_PREFIX:
        hint = f" (a prefix needs at least {MIN_PREFIX} characters)" if found else ""
        raise NotFound(f"no {kind} {given!r}{hint}", details={"id": given})
    if len(found) == 1:
        return found[0]
    more = " and more" if len(found) > _SHOWN else ""
    raise InvalidInput(
        f"{kind} id {given!r} is ambiguous: it begins {', '.join(found[:_SHOWN])}{more}; give more characters",
        details={"id": given, "candidates": found[:_SHOWN]},
    )
