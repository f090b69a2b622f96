"""The provider chain: the first provider that can answer does, in the configured order.

For each provider in turn: skip it while its circuit is open; otherwise open its stream and wait for the first
event, retrying transient failures (timeout, connection error, 5xx, 429) with backoff; if it still fails, move
on to the next provider. Once a provider has sent text, the answer is its alone: a failure after that raises
`AnswerInterrupted` (with the text sent so far) instead of letting another provider continue or start over, so
two providers' text are never spliced into one answer. A refusal (4xx other than 429) ends the answer at once:
it is a configuration problem the next provider would only hide.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Generator, Iterator, Mapping, Sequence

import pybreaker
from prometheus_client import CollectorRegistry

from lore.answers.breakers import breaker
from lore.answers.citations import cite, is_abstention
from lore.answers.errors import (
    AnswerInterrupted,
    CircuitOpen,
    NoProviderAnswered,
    ProviderFailed,
    ProviderUnavailable,
)
from lore.answers.metrics import AnswerMetrics
from lore.answers.provider import Provider
from lore.answers.retry import RetryPolicy
from lore.answers.types import (
    Answer,
    AnswerEvent,
    AnswerRequest,
    Attempt,
    Completion,
    ProviderEvent,
    Usage,
)
from lore.errors import InvalidInput

Opened = tuple[ProviderEvent, Generator[ProviderEvent, None, None]]


class ProviderChain:
    def __init__(
        self,
        providers: Mapping[str, Provider],
        order: Sequence[str],
        *,
        policy: RetryPolicy | None = None,
        breaker_failures: int = 5,
        breaker_reset_seconds: float = 30.0,
        metrics: AnswerMetrics | None = None,
    ) -> None:
        self.providers = dict(providers)
        self.order = self.check(order)
        self.policy = policy or RetryPolicy()
        self.metrics = metrics or AnswerMetrics(CollectorRegistry())
        self._breaker_options = (breaker_failures, breaker_reset_seconds)
        self.breakers = {name: self._breaker(name) for name in self.providers}

    def _breaker(self, name: str) -> pybreaker.CircuitBreaker:
        return breaker(name, *self._breaker_options, self.metrics)

    def with_providers(self, replaced: Mapping[str, Provider]) -> ProviderChain:
        """This chain with some providers replaced (by ones holding a tenant's own key): the others keep their
        circuit breakers, the replaced ones get their own, so one tenant's failing key trips no one else's."""
        chain = copy.copy(self)
        chain.providers = {**self.providers, **replaced}
        chain.breakers = {**self.breakers, **{name: self._breaker(name) for name in replaced}}
        return chain

    def check(self, names: Sequence[str]) -> list[str]:
        """The names, validated: at least one, each a known provider."""
        unknown = [name for name in names if name not in self.providers]
        if unknown or not names:
            raise InvalidInput(
                f"unknown LLM provider: {', '.join(unknown) or '(none given)'}",
                details={"providers": list(names), "known": sorted(self.providers)},
            )
        return list(names)

    def complete(self, request: AnswerRequest, providers: Sequence[str] | None = None) -> Answer:
        """The whole answer at once: the stream, drained."""
        for event in self.stream(request, providers):
            if isinstance(event, Answer):
                return event
        raise NoProviderAnswered([])  # unreachable: every stream ends with an Answer or raises

    def stream(self, request: AnswerRequest, providers: Sequence[str] | None = None) -> Iterator[AnswerEvent]:
        """Text deltas, then one `Answer`; `providers` overrides the configured order for this request."""
        names = self.check(providers) if providers else self.order
        start = time.perf_counter()
        failed: list[Attempt] = []
        for name in names:
            try:
                opened = self._open(name, request)
            except ProviderUnavailable as error:
                failed.append(Attempt(name, error.reason))
                continue
            yield from self._relay(name, opened, request, start, tuple(failed))
            return
        raise NoProviderAnswered([(attempt.provider, attempt.error) for attempt in failed])

    def _open(self, name: str, request: AnswerRequest) -> Opened:
        """The provider's first event and the rest of its stream, retrying transient failures."""
        for attempt in self.policy.retrying():
            with attempt:
                events = self._guarded(name, request)
                first = next(events, None)
                if first is None:
                    self.metrics.failed(name, "incomplete_stream")
                    raise ProviderUnavailable(name, "incomplete_stream")
                return first, events
        raise AssertionError("unreachable: the retry loop returns or raises")

    def _guarded(self, name: str, request: AnswerRequest) -> Generator[ProviderEvent, None, None]:
        """The provider's stream under its circuit breaker, failures counted by reason."""
        try:
            with self.breakers[name].calling():
                events = iter(self.providers[name].stream(request))
                yield from events
        except pybreaker.CircuitBreakerError:
            self.metrics.failed(name, "circuit_open")
            raise CircuitOpen(name) from None
        except (ProviderUnavailable, ProviderFailed) as error:
            self.metrics.failed(name, error.reason)
            raise

    def _relay(
        self, name: str, opened: Opened, request: AnswerRequest, start: float, failed: tuple[Attempt, ...]
    ) -> Iterator[AnswerEvent]:
        first, rest = opened
        sent: list[str] = []
        first_token: float | None = None
        try:
            for event in _chain(first, rest):
                if isinstance(event, Completion):
                    for _ in rest:  # let the breaker see the stream end
                        pass
                    yield self._answer(name, event, request, start, first_token, failed)
                    return
                if first_token is None:
                    first_token = time.perf_counter() - start
                    self.metrics.first_token_seconds.labels(name).observe(first_token)
                sent.append(event.text)
                yield event
        except (ProviderUnavailable, ProviderFailed) as error:
            if not sent:
                raise
            raise AnswerInterrupted(name, error.reason, "".join(sent)) from None
        finally:
            rest.close()  # a caller that stops reading ends the provider's request too
        raise AnswerInterrupted(name, "incomplete_stream", "".join(sent))

    def _answer(
        self,
        name: str,
        completion: Completion,
        request: AnswerRequest,
        start: float,
        first_token: float | None,
        failed: tuple[Attempt, ...],
    ) -> Answer:
        seconds = time.perf_counter() - start
        self.metrics.answered(name, seconds, completion.prompt_tokens, completion.completion_tokens)
        abstained = (
            completion.abstained if completion.abstained is not None else is_abstention(completion.text)
        )
        usage = Usage(
            name,
            completion.model,
            completion.prompt_tokens,
            completion.completion_tokens,
            seconds,
            first_token,
        )
        citations = () if abstained else cite(completion.text, request.passages)
        return Answer(completion.text, citations, usage, abstained, failed)


def _chain(first: ProviderEvent, rest: Iterator[ProviderEvent]) -> Iterator[ProviderEvent]:
    yield first
    yield from rest
