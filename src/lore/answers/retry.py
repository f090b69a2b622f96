"""When to try a provider again and how long to wait first: exponential backoff with jitter (tenacity),
never less than the server's Retry-After, never longer than `max_wait`: a server asking for more is left for
the next provider of the chain."""

from __future__ import annotations

from dataclasses import dataclass

import tenacity

from lore.answers.errors import CircuitOpen, ProviderUnavailable


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 2  # further attempts of one provider after a transient failure
    backoff: float = 0.5  # the first wait, in seconds; it doubles, plus up to as much again of jitter
    max_wait: float = 8.0

    def retrying(self) -> tenacity.Retrying:
        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.retries + 1),
            wait=self.wait,
            retry=tenacity.retry_if_exception(self.retryable),
            reraise=True,
        )

    def retryable(self, error: BaseException) -> bool:
        if not isinstance(error, ProviderUnavailable) or isinstance(error, CircuitOpen):
            return False
        return error.retry_after is None or error.retry_after <= self.max_wait

    def wait(self, state: tenacity.RetryCallState) -> float:
        backoff = tenacity.wait_exponential_jitter(
            multiplier=self.backoff, max=self.max_wait, jitter=self.backoff
        )
        error = state.outcome.exception() if state.outcome else None
        asked = error.retry_after if isinstance(error, ProviderUnavailable) else None
        return min(self.max_wait, max(asked or 0.0, backoff(state)))
