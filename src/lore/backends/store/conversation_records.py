"""`ConversationRecords`, the database's `conversations` repository: conversations and their messages.

A question and its answer are written together, in one transaction, once the answer is complete: the history
never holds a question without its answer, nor half an answer. A conversation belongs to whoever started it
(`ConversationOwner`: a user or key, and the end user of a publishable key's page); reads given an owner see
only that owner's conversations, and another's is not found, as another tenant's is not. Pages are cursor-based and each one is a range
scan of an index: conversations by (tenant, created_at, id), messages by (conversation, id), so the first and
the thousandth page cost the same at any number of messages.
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from lore.backends.store import codec, paging, refusing_unstorable
from lore.backends.store.event_records import delete_user_events, user_events
from lore.backends.store.rows import AnyRow
from lore.backends.store.schema import conversations, held_questions, messages
from lore.errors import InvalidInput, NotFound
from lore.models import (
    Conversation,
    ConversationOwner,
    EndUserData,
    ErasedEndUser,
    Message,
    NewMessage,
    Order,
    Page,
    utcnow,
)

HELD_SECONDS = 600  # a question whose answer is not asked for in this time is dropped


def _conversation(row: AnyRow) -> Conversation:
    return Conversation(**row._mapping)


def _message(row: AnyRow) -> Message:
    return Message(**row._mapping)


def not_found(conversation_id: str) -> NotFound:
    """Also what another tenant's conversation is: tenants never learn of each other's records."""
    return NotFound(
        f"conversation {conversation_id!r} not found", details={"conversation_id": conversation_id}
    )


def _owned(
    tenant_id: str, conversation_id: str, viewer: ConversationOwner | None = None
) -> sa.ColumnElement[bool]:
    return sa.and_(
        conversations.c.id == conversation_id, conversations.c.tenant_id == tenant_id, _seen_by(viewer)
    )


def _seen_by(viewer: ConversationOwner | None) -> sa.ColumnElement[bool]:
    """Conversations `viewer` started (None: any of the tenant's, for admins)."""
    if viewer is None:
        return sa.true()
    return sa.and_(
        conversations.c.owner == viewer.actor,
        conversations.c.end_user.is_not_distinct_from(viewer.end_user),
    )


class ConversationRecords:
    """Reads and writes of the `conversations` and `messages` tables; every call is tenant-scoped."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def create(
        self,
        tenant_id: str,
        title: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        owner: ConversationOwner | None = None,
    ) -> Conversation:
        now = utcnow()
        conversation = Conversation(
            uuid.uuid4().hex,
            tenant_id,
            title,
            dict(metadata or {}),
            0,
            now,
            now,
            owner.actor if owner else None,
            owner.end_user if owner else None,
        )
        with refusing_unstorable(), self.engine.begin() as conn:
            conn.execute(sa.insert(conversations).values(dataclasses.asdict(conversation)))
        return conversation

    def get(
        self, tenant_id: str, conversation_id: str, viewer: ConversationOwner | None = None
    ) -> Conversation:
        """The conversation, or `NotFound` (also when it belongs to another tenant, or not to `viewer`)."""
        query = sa.select(conversations).where(_owned(tenant_id, conversation_id, viewer))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise not_found(conversation_id)
        return _conversation(row)

    def list_conversations(
        self,
        tenant_id: str,
        limit: int,
        cursor: str | None = None,
        viewer: ConversationOwner | None = None,
    ) -> Page[Conversation]:
        """Newest first; `cursor` is the `next_cursor` of the previous page."""
        query = sa.select(conversations).where(conversations.c.tenant_id == tenant_id, _seen_by(viewer))
        query = paging.newest_first(query, conversations, limit, cursor)
        with self.engine.connect() as conn:
            return paging.page([_conversation(row) for row in conn.execute(query)], limit)

    def update(
        self,
        tenant_id: str,
        conversation_id: str,
        changes: Mapping[str, Any],
        viewer: ConversationOwner | None = None,
    ) -> Conversation:
        """Replace the given fields (`title`, `metadata`); `NotFound` if there is no such conversation."""
        unknown = set(changes) - {"title", "metadata"}
        if unknown:
            raise InvalidInput(
                "only a conversation's title and metadata can change", details={"fields": sorted(unknown)}
            )
        owned = _owned(tenant_id, conversation_id, viewer)
        values = {**changes, "updated_at": utcnow()}
        with refusing_unstorable(), self.engine.begin() as conn:
            row = conn.execute(
                sa.update(conversations).where(owned).values(values).returning(*conversations.c)
            ).first()
        if row is None:
            raise not_found(conversation_id)
        return _conversation(row)

    def delete(self, tenant_id: str, conversation_id: str, viewer: ConversationOwner | None = None) -> None:
        """The conversation and all its messages, in one transaction; `NotFound` if there is none."""
        owned = _owned(tenant_id, conversation_id, viewer)
        with self.engine.begin() as conn:
            mine = sa.select(conversations.c.id).where(owned).scalar_subquery()
            conn.execute(sa.delete(messages).where(messages.c.conversation_id == mine))
            found = conn.execute(sa.delete(conversations).where(owned)).rowcount
        if not found:
            raise not_found(conversation_id)

    def messages(
        self,
        tenant_id: str,
        conversation_id: str,
        limit: int,
        cursor: str | None = None,
        order: Order = "newest",
        viewer: ConversationOwner | None = None,
    ) -> Page[Message]:
        """One page of a conversation's messages, newest or oldest first."""
        paging.check_limit(limit)
        self.get(tenant_id, conversation_id, viewer)
        query = sa.select(messages).where(messages.c.conversation_id == conversation_id)
        newest = order == "newest"
        if cursor is not None:
            after = codec.decode_number_cursor(cursor)
            query = query.where(messages.c.id < after if newest else messages.c.id > after)
        by_id = messages.c.id.desc() if newest else messages.c.id.asc()
        # Ordering by (conversation_id, id) lets both dialects walk ix_messages_conversation without a sort.
        query = query.order_by(messages.c.conversation_id, by_id).limit(limit + 1)
        with self.engine.connect() as conn:
            items = [_message(row) for row in conn.execute(query)]
        return paging.page(items, limit, lambda last: codec.encode_number_cursor(last.id))

    def message(
        self, tenant_id: str, conversation_id: str, message_id: int, viewer: ConversationOwner | None = None
    ) -> Message:
        """One message of a conversation `viewer` sees; `NotFound` if there is none (or the conversation is
        not `viewer`'s)."""
        self.get(tenant_id, conversation_id, viewer)
        query = sa.select(messages).where(
            messages.c.conversation_id == conversation_id, messages.c.id == message_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(
                f"message {message_id} not found in conversation {conversation_id!r}",
                details={"conversation_id": conversation_id, "message_id": message_id},
            )
        return _message(row)

    def recent(
        self, tenant_id: str, conversation_id: str, count: int, viewer: ConversationOwner | None = None
    ) -> list[Message]:
        """The last `count` messages, oldest first: the history a new question is answered with."""
        page = self.messages(tenant_id, conversation_id, count, viewer=viewer)
        return list(reversed(page.items))

    # --- one end user's data -----------------------------------------------------------------------------

    def end_user_data(self, tenant_id: str, end_user: str) -> EndUserData:
        """Every conversation of one end user, oldest first, each with all its messages in order, and every
        event of theirs, read in one transaction."""
        mine = sa.and_(conversations.c.tenant_id == tenant_id, conversations.c.end_user == end_user)
        with self.engine.connect() as conn:
            found = [
                _conversation(row)
                for row in conn.execute(
                    sa.select(conversations)
                    .where(mine)
                    .order_by(conversations.c.created_at, conversations.c.id)
                )
            ]
            ids = [conversation.id for conversation in found]
            listed = conn.execute(
                sa.select(messages)
                .where(messages.c.conversation_id.in_(ids))
                .order_by(messages.c.conversation_id, messages.c.id)
            )
            by_conversation: dict[str, list[Message]] = {}
            for row in listed:
                by_conversation.setdefault(row.conversation_id, []).append(_message(row))
            theirs = user_events(conn, tenant_id, end_user)
        return EndUserData(end_user, [(c, by_conversation.get(c.id, [])) for c in found], theirs)

    def erase_end_user(self, tenant_id: str, end_user: str) -> ErasedEndUser:
        """Delete every conversation of one end user, their messages and their events, in one transaction."""
        mine = sa.and_(conversations.c.tenant_id == tenant_id, conversations.c.end_user == end_user)
        with self.engine.begin() as conn:
            theirs = sa.select(conversations.c.id).where(mine)
            deleted = conn.execute(sa.delete(messages).where(messages.c.conversation_id.in_(theirs))).rowcount
            started = conn.execute(sa.delete(conversations).where(mine)).rowcount
            return ErasedEndUser(started, deleted, delete_user_events(conn, tenant_id, end_user))

    def append_turn(
        self,
        tenant_id: str,
        conversation_id: str,
        question: NewMessage,
        answer: NewMessage,
        *,
        title: str | None = None,
    ) -> tuple[Message, Message]:
        """Store a question and its answer in one transaction; the answer's metadata names the question
        (`reply_to`), and `title` names a conversation that has none yet. `NotFound` if the conversation was
        deleted meanwhile.

        The conversation's row is updated first: its lock queues concurrent turns of one conversation, so each
        question is directly followed by its answer."""
        owned = _owned(tenant_id, conversation_id)
        values: dict[str, Any] = {
            "message_count": conversations.c.message_count + 2,
            "updated_at": answer.created_at,
        }
        if title is not None:
            values["title"] = sa.func.coalesce(conversations.c.title, title)
        with refusing_unstorable(), self.engine.begin() as conn:
            if not conn.execute(sa.update(conversations).where(owned).values(values)).rowcount:
                raise not_found(conversation_id)
            asked = self._insert(conn, conversation_id, question, {})
            answered = self._insert(conn, conversation_id, answer, {"reply_to": asked.id})
        return asked, answered

    def hold_question(
        self,
        tenant_id: str,
        conversation_id: str,
        asker: ConversationOwner,
        question: Mapping[str, Any],
        viewer: ConversationOwner | None = None,
    ) -> str:
        """Keep `question` (in a conversation `viewer` sees) for `asker` until `take_question`; returns its
        token. Questions held longer than `HELD_SECONDS` are dropped meanwhile: their answer was never asked
        for."""
        self.get(tenant_id, conversation_id, viewer)
        token, now = secrets.token_urlsafe(24), utcnow()
        row = {
            "id": token,
            "tenant_id": tenant_id,
            "conversation_id": conversation_id,
            "asker": asker.actor,
            "end_user": asker.end_user,
            "question": dict(question),
            "created_at": now,
        }
        stale = held_questions.c.created_at < now - timedelta(seconds=HELD_SECONDS)
        with refusing_unstorable(), self.engine.begin() as conn:
            conn.execute(sa.delete(held_questions).where(stale))
            conn.execute(sa.insert(held_questions).values(row))
        return token

    def take_question(
        self, tenant_id: str, conversation_id: str, token: str, asker: ConversationOwner
    ) -> dict[str, Any] | None:
        """The question held under `token` for `asker` in this conversation, deleted by the same statement that
        reads it, so only one caller ever gets it; None when there is none (taken, dropped, or another's)."""
        taken = (
            sa.delete(held_questions)
            .where(
                held_questions.c.id == token,
                held_questions.c.tenant_id == tenant_id,
                held_questions.c.conversation_id == conversation_id,
                held_questions.c.asker == asker.actor,
                held_questions.c.end_user.is_not_distinct_from(asker.end_user),
                held_questions.c.created_at >= utcnow() - timedelta(seconds=HELD_SECONDS),
            )
            .returning(held_questions.c.question)
        )
        with self.engine.begin() as conn:
            row = conn.execute(taken).first()
        return dict(row.question) if row is not None else None

    @staticmethod
    def _insert(
        conn: sa.Connection, conversation_id: str, message: NewMessage, extra: Mapping[str, Any]
    ) -> Message:
        row = {
            "conversation_id": conversation_id,
            "role": message.role,
            "content": message.content,
            "citations": [dict(citation) for citation in message.citations],
            "usage": dict(message.usage) if message.usage is not None else None,
            "metadata": {**(message.metadata or {}), **extra},
            "created_at": message.created_at,
        }
        return _message(conn.execute(sa.insert(messages).values(row).returning(*messages.c)).one())
