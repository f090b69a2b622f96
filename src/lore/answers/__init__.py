"""Grounded, cited, streamed answers over pluggable providers.

>>> chain = build_chain(settings)
>>> for event in chain.stream(AnswerRequest(question, hits, history)):
...     ...  # TextDelta pieces, then one Answer with citations and usage
"""

from lore.answers.build import build_chain, llm_providers, provider_names
from lore.answers.chain import ProviderChain
from lore.answers.citations import cite, is_abstention
from lore.answers.errors import (
    AnswerInterrupted,
    CircuitOpen,
    NoProviderAnswered,
    ProviderFailed,
    ProviderNotConfigured,
    ProviderNotInstalled,
    ProviderSetupError,
    ProviderUnavailable,
)
from lore.answers.followup import standalone_query
from lore.answers.metrics import AnswerMetrics
from lore.answers.prompt import ABSTENTION, build_prompt
from lore.answers.provider import Provider, complete
from lore.answers.retry import RetryPolicy
from lore.answers.types import (
    Answer,
    AnswerEvent,
    AnswerRequest,
    Attempt,
    Citation,
    Completion,
    TextDelta,
    Turn,
    Usage,
)

__all__ = [
    "ABSTENTION",
    "Answer",
    "AnswerEvent",
    "AnswerInterrupted",
    "AnswerMetrics",
    "AnswerRequest",
    "Attempt",
    "CircuitOpen",
    "Citation",
    "Completion",
    "NoProviderAnswered",
    "Provider",
    "ProviderChain",
    "ProviderFailed",
    "ProviderNotConfigured",
    "ProviderNotInstalled",
    "ProviderSetupError",
    "ProviderUnavailable",
    "RetryPolicy",
    "TextDelta",
    "Turn",
    "Usage",
    "build_chain",
    "build_prompt",
    "cite",
    "complete",
    "is_abstention",
    "llm_providers",
    "provider_names",
    "standalone_query",
]
