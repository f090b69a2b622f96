"""Conversations: questions answered from the knowledge base, with their history stored.

>>> answering = open_answering(lore)
>>> conversation = answering.records.create("default", title="Refunds")
>>> turn = answering.prepare("default", conversation.id, Question("How do I get a refund?"))
>>> for event in answering.answer(turn):
...     ...  # TextDelta pieces, then the StoredTurn
"""

from __future__ import annotations

from lore.answers import AnswerMetrics, build_chain
from lore.answers.tenants import PolicyOf, TenantProviders
from lore.backends.store.conversation_records import ConversationRecords
from lore.conversations.answering import Answering, Grounding, Question, StoredTurn
from lore.intelligence.intents.serving import IntentService
from lore.models import Conversation, Message, Order
from lore.security.audit import AuditLog
from lore.security.secrets import TenantSecrets
from lore.service import Lore


def open_answering(
    lore: Lore,
    metrics: AnswerMetrics | None = None,
    *,
    policy_of: PolicyOf | None = None,
    secrets: TenantSecrets | None = None,
    audit: AuditLog | None = None,
    intents: IntentService | None = None,
) -> Answering:
    """Answering over `lore`'s database, with the provider chain its settings configure. A server passes
    `policy_of` (`stored_policies(db)`: each tenant may use what its policy allows; None, the operator on the
    machine, may use every provider), `secrets` (a tenant's own provider keys answer its questions) and `audit`
    (where a refused key is recorded) and `intents` (the intent models its `/v1/classify` serves too)."""
    chain = build_chain(lore.settings, metrics)
    providers = TenantProviders(chain, lore.settings, policy_of, secrets, audit)
    return Answering(lore, chain, lore.store.conversations, providers=providers, intents=intents)


__all__ = [
    "Answering",
    "Conversation",
    "ConversationRecords",
    "Grounding",
    "Message",
    "Order",
    "Question",
    "StoredTurn",
    "open_answering",
]
