"""Prometheus metrics of the provider chain, in a registry the caller owns (the API's, or a test's)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0)


class AnswerMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "lore_llm_attempts",
            "Provider attempts by outcome: ok, or the failure reason (timeout, rate_limited, circuit_open ...).",
            ["provider", "outcome"],
            registry=registry,
        )
        self.seconds = Histogram(
            "lore_llm_seconds",
            "Time from the question to the end of an answer (retries and fallbacks included), by the provider "
            "that gave it.",
            ["provider"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.first_token_seconds = Histogram(
            "lore_llm_first_token_seconds",
            "Time from the question to the first streamed text of an answer, fallbacks included.",
            ["provider"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.tokens = Counter(
            "lore_llm_tokens",
            "Tokens used, by provider and kind (prompt, completion).",
            ["provider", "kind"],
            registry=registry,
        )
        self.circuit_open = Gauge(
            "lore_llm_circuit_open",
            "1 while a provider's circuit breaker is open.",
            ["provider"],
            registry=registry,
            multiprocess_mode="livemax",  # under --workers N: open in any worker
        )

    def failed(self, provider: str, reason: str) -> None:
        self.attempts.labels(provider, reason).inc()

    def answered(self, provider: str, seconds: float, prompt_tokens: int, completion_tokens: int) -> None:
        self.attempts.labels(provider, "ok").inc()
        self.seconds.labels(provider).observe(seconds)
        self.tokens.labels(provider, "prompt").inc(prompt_tokens)
        self.tokens.labels(provider, "completion").inc(completion_tokens)
