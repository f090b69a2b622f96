"""One circuit breaker per provider (pybreaker): after `failures` transient failures in a row the provider is
skipped for `reset_seconds`, then one trial call decides whether it is back.

Only `ProviderUnavailable` counts as a failure: a refused request, or a stream the caller stopped reading,
says nothing about the provider's health. The breaker wraps whole streams through `calling()`, which holds no
lock while the stream runs (`call()` would serialise every concurrent answer)."""

from __future__ import annotations

import pybreaker

from lore.answers.errors import ProviderUnavailable
from lore.answers.metrics import AnswerMetrics


class _StateGauge(pybreaker.CircuitBreakerListener):
    def __init__(self, metrics: AnswerMetrics) -> None:
        self.metrics = metrics

    def state_change(
        self, cb: pybreaker.CircuitBreaker, old_state: object, new_state: pybreaker.CircuitBreakerState
    ) -> None:
        self.metrics.circuit_open.labels(cb.name).set(1 if new_state.name == pybreaker.STATE_OPEN else 0)


def _not_a_failure(error: BaseException) -> bool:
    return not isinstance(error, ProviderUnavailable)


def breaker(
    provider: str, failures: int, reset_seconds: float, metrics: AnswerMetrics
) -> pybreaker.CircuitBreaker:
    return pybreaker.CircuitBreaker(
        fail_max=failures,
        reset_timeout=reset_seconds,
        exclude=[_not_a_failure],
        listeners=[_StateGauge(metrics)],
        name=provider,
        throw_new_error_on_trip=False,  # the caller sees the failure that tripped it, not a generic error
    )
