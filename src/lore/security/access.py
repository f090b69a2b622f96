"""What a `Principal` may read and write, in the terms the service speaks: readers, authors, conversation
owners and collections; and why a user can or cannot read a document.

    >>> lore.search(search_as(principal, request))
    >>> lore.add_text(title=..., text=..., author=author_of(principal))

The rules:
- a document that is not restricted is readable by everyone in its tenant;
- a restricted one by its owner, the tenant's admins (and the operator), and the users and groups it grants
  (an API key reads through the groups it carries);
- writing over a stored document by its source needs its owner or an admin (`SourceTaken` otherwise); deleting
  it or changing who may read it needs the `documents:write` scope and being able to read it;
- a key restricted to collections reads and writes only there;
- a conversation is seen by whoever started it (the same user or key, and the same end user of a publishable
  key's page) and by admins;
- an event is about the end user of a publishable key's page (never whom the page claims), a signed-in user
  themself, or, sent with a secret key (a trusted backend) or by the operator, the user it names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from lore.errors import Forbidden, InvalidInput, NotFound
from lore.intelligence.events import Asker
from lore.models import Access, Author, ConversationOwner, Document, Readers
from lore.security.principal import Principal
from lore.security.scopes import Scope
from lore.security.users import Holder

if TYPE_CHECKING:
    from lore.backends.store.database import Database
    from lore.conversations import Question
    from lore.core.retrieve import SearchRequest

Reason = Literal[
    "admin", "unrestricted", "owner", "granted_user", "granted_group", "not_granted", "user_disabled"
]


def readers_of(principal: Principal) -> Readers:
    """None for admins and the operator (every document); else the principal's reader names."""
    return None if principal.reads_everything else principal.readers


def author_of(principal: Principal) -> Author:
    return Author(principal.actor, readers_of(principal))


def conversation_owner(principal: Principal) -> ConversationOwner:
    """Whom a conversation the principal starts belongs to."""
    return ConversationOwner(principal.actor, principal.end_user)


def conversation_viewer(principal: Principal) -> ConversationOwner | None:
    """Whose conversations the principal sees: its own, or (admins) all of the tenant's."""
    return None if principal.reads_everything else conversation_owner(principal)


def collections_for(principal: Principal, asked: Sequence[str] | None) -> Sequence[str] | None:
    """The collections a request may touch: those asked for, each of which must be the principal's, or, asking
    for none, all of the principal's (None: every collection of the tenant)."""
    if principal.collections is None:
        return asked
    if asked is None:
        return sorted(principal.collections)
    refused = sorted(set(asked) - principal.collections)
    if refused:
        raise Forbidden(
            "this key may not use these collections",
            details={"collections": refused, "allowed": sorted(principal.collections)},
        )
    return asked


def check_collection(principal: Principal, collection: str) -> str:
    """A write into `collection` must be into one of the principal's collections."""
    collections_for(principal, [collection])
    return collection


def search_as(principal: Principal, request: SearchRequest) -> SearchRequest:
    """The request, narrowed to what the principal may read."""
    collections = collections_for(principal, request.collections)
    return replace(request, collections=collections, readers=readers_of(principal))


def ask_as(principal: Principal, question: Question) -> Question:
    """The question, to be answered only from what the principal may read (and recorded as its)."""
    collections = collections_for(principal, question.collections)
    return replace(
        question, collections=collections, readers=readers_of(principal), asker=asker_of(principal)
    )


def asker_of(principal: Principal) -> Asker:
    """Whom the server's own events (a search, an answer) are recorded for: a publishable key's end user, else
    nobody in particular."""
    end_user = principal.end_user if principal.kind == "publishable" else None
    return Asker(principal.tenant_id, principal.actor, end_user)


def event_user(principal: Principal, claimed: str | None) -> str | None:
    """The user an event the principal sends is about (`claimed`: the event's own `user_id`)."""
    if principal.kind == "publishable":
        return principal.end_user
    if principal.kind == "user":
        return principal.id
    return claimed if claimed is not None else principal.end_user


def holder_of(db: Database, tenant_id: str, user_id: str) -> Holder | None:
    """One of the tenant's users with its tenant and groups, as a signed-in user's principal is made of."""
    user, tenant = db.users.get(tenant_id, user_id), db.tenants.get(tenant_id)
    if user is None or tenant is None:
        return None
    return Holder(user, tenant, db.groups.groups_of(tenant_id, user_id))


def act_as(principal: Principal, user_id: str, holder: Holder | None) -> Principal:
    """An admin acting as one of the tenant's users (`holder`, looked up by `user_id`), within the admin's own
    collections: what "search as user" runs with."""
    if not principal.allows(Scope.ADMIN):
        raise Forbidden("only admins may act as another user", details={"as_user": user_id})
    if holder is None:
        raise NotFound(f"no user {user_id!r}", details={"user_id": user_id})
    if holder.user.disabled_at is not None:
        raise InvalidInput(
            f"user {user_id!r} is disabled: they can read nothing", details={"user_id": user_id}
        )
    from lore.security.credentials import principal_of

    return replace(principal_of(holder), collections=principal.collections)


def visible(principal: Principal, document: Document) -> Document:
    """A document fetched for the principal's readers, also outside its collections: not found."""
    if not principal.can_use_collection(document.collection):
        raise NotFound(f"no document {document.id!r}", details={"document_id": document.id})
    return document


@dataclass(frozen=True, slots=True)
class Explanation:
    """Whether a user can read a document and why; `groups`: the user's groups that the document grants."""

    readable: bool
    reason: Reason
    groups: tuple[str, ...] = ()


def explain(holder: Holder, document: Document, access: Access) -> Explanation:
    """The first rule that decides, in the order the rules are checked, for the user as their requests are
    made (an admin who must enrol in MFA first reads as a viewer)."""
    if holder.user.disabled_at is not None:
        return Explanation(False, "user_disabled")
    from lore.security.credentials import principal_of

    principal = principal_of(holder)
    if principal.reads_everything:
        return Explanation(True, "admin")
    if not access.restricted:
        return Explanation(True, "unrestricted")
    if document.owner == principal.actor:
        return Explanation(True, "owner")
    if principal.id in access.users:
        return Explanation(True, "granted_user")
    granting = tuple(sorted(principal.groups & set(access.groups)))
    if granting:
        return Explanation(True, "granted_group", granting)
    return Explanation(False, "not_granted")
