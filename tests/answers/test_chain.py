"""Fallback, retries, circuit breaker, timeouts and metrics of the provider chain, against live servers."""

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import CollectorRegistry

from lore.answers.chain import ProviderChain
from lore.answers.errors import AnswerInterrupted, NoProviderAnswered, ProviderFailed
from lore.answers.extractive import Extractive
from lore.answers.metrics import AnswerMetrics
from lore.answers.prompt import ABSTENTION
from lore.answers.provider import Provider
from lore.answers.retry import RetryPolicy
from lore.answers.types import Answer, AnswerRequest, Attempt, TextDelta
from lore.errors import InvalidInput
from lore.models import Hit
from tests.answers.conftest import SHORT_TIMEOUT, openai_provider
from tests.answers.servers import HANG, LiveServer, Reply, Script

QUESTION = "How long does a refund take to be processed?"
FAST = RetryPolicy(retries=2, backoff=0.01, max_wait=2.0)


def make_chain(
    openai: Provider,
    order: Sequence[str] = ("openai", "extractive"),
    *,
    policy: RetryPolicy = FAST,
    registry: CollectorRegistry | None = None,
    breaker_failures: int = 5,
    breaker_reset_seconds: float = 30.0,
) -> ProviderChain:
    return ProviderChain(
        {"openai": openai, "extractive": Extractive()},
        order,
        policy=policy,
        metrics=AnswerMetrics(registry or CollectorRegistry()),
        breaker_failures=breaker_failures,
        breaker_reset_seconds=breaker_reset_seconds,
    )


def ask(chain: ProviderChain, passages: list[Hit], providers: Sequence[str] | None = None) -> Answer:
    return chain.complete(AnswerRequest(QUESTION, passages), providers)


def test_the_first_provider_answers_with_citations_and_usage(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    script.default = Reply(text="Refunds are processed within five days [1]. See also [9].")
    answer = ask(make_chain(openai_provider(server)), refund_passages)
    assert answer.text == "Refunds are processed within five days [1]. See also [9]."
    assert [(c.marker, c.chunk_id, c.document_id, c.title) for c in answer.citations] == [
        (1, 1, "doc-1", "Refunds")
    ]
    assert answer.citations[0].heading_path == ("Billing", "Refunds")
    assert answer.citations[0].text == refund_passages[0].chunk.text
    assert answer.usage.provider == "openai"
    assert answer.usage.model == "test-model"
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (42, 7)
    assert answer.usage.first_token_seconds is not None
    assert answer.usage.latency_seconds >= answer.usage.first_token_seconds
    assert answer.abstained is False
    assert answer.failed_attempts == ()


def test_a_model_saying_it_does_not_know_is_an_abstention(server: LiveServer, script: Script) -> None:
    script.default = Reply(text=ABSTENTION)
    answer = ask(make_chain(openai_provider(server)), [])
    assert answer.abstained is True
    assert answer.citations == ()


def test_5xx_is_retried_then_falls_back(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    script.default = Reply(status=503)
    answer = ask(make_chain(openai_provider(server)), refund_passages)
    assert len(script.requests) == 3  # the first attempt and two retries
    assert answer.usage.provider == "extractive"
    assert answer.failed_attempts == (Attempt("openai", "server_error"),)
    assert "five business days" in answer.text
    assert answer.citations[0].marker == 1


def test_a_retry_can_succeed(server: LiveServer, script: Script, refund_passages: list[Hit]) -> None:
    script.then(Reply(status=502), Reply(status=500))
    answer = ask(make_chain(openai_provider(server)), refund_passages)
    assert len(script.requests) == 3
    assert answer.usage.provider == "openai"
    assert answer.failed_attempts == ()


def test_retry_after_is_honoured(server: LiveServer, script: Script, refund_passages: list[Hit]) -> None:
    script.then(Reply(status=429, headers={"retry-after": "1"}))
    start = time.perf_counter()
    answer = ask(make_chain(openai_provider(server)), refund_passages)
    assert time.perf_counter() - start >= 1.0
    assert answer.usage.provider == "openai"
    assert len(script.requests) == 2


def test_a_retry_after_beyond_the_longest_wait_goes_to_the_next_provider(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    script.default = Reply(status=429, headers={"retry-after": "120"})
    start = time.perf_counter()
    answer = ask(make_chain(openai_provider(server)), refund_passages)
    assert time.perf_counter() - start < 60  # far short of the 120 s asked for: it did not wait
    assert len(script.requests) == 1
    assert answer.failed_attempts == (Attempt("openai", "rate_limited"),)
    assert answer.usage.provider == "extractive"


def test_backoff_grows_between_retries(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    script.default = Reply(status=503)
    policy = RetryPolicy(retries=2, backoff=0.2, max_wait=5.0)
    start = time.perf_counter()
    ask(make_chain(openai_provider(server), policy=policy), refund_passages)
    assert time.perf_counter() - start >= 0.2 + 0.4  # 0.2 then 0.4, each plus up to 0.2 of jitter


def test_a_slow_provider_times_out_and_the_next_answers(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    script.default = Reply(delay=HANG)  # had the provider waited it out, it would have answered
    policy = RetryPolicy(retries=0, backoff=0.01, max_wait=1.0)
    answer = ask(make_chain(openai_provider(server, SHORT_TIMEOUT), policy=policy), refund_passages)
    assert answer.failed_attempts == (Attempt("openai", "timeout"),)
    assert answer.usage.provider == "extractive"


def test_an_unreachable_provider_falls_back(refund_passages: list[Hit]) -> None:
    with LiveServer(Script()) as gone:
        provider = openai_provider(gone)
    answer = ask(make_chain(provider), refund_passages)
    assert answer.failed_attempts == (Attempt("openai", "connection_error"),)
    assert answer.usage.provider == "extractive"


def test_a_refusal_is_not_hidden_by_a_fallback(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    script.default = Reply(status=401)
    with pytest.raises(ProviderFailed) as caught:
        ask(make_chain(openai_provider(server)), refund_passages)
    assert caught.value.details["status"] == 401
    assert len(script.requests) == 1


def test_failure_after_text_was_sent_interrupts_instead_of_splicing(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    script.default = Reply(cut_after=3)
    chain = make_chain(openai_provider(server))
    received: list[str] = []
    with pytest.raises(AnswerInterrupted) as caught:
        for event in chain.stream(AnswerRequest(QUESTION, refund_passages)):
            assert isinstance(event, TextDelta)
            received.append(event.text)
    assert "".join(received) == caught.value.partial_text == "Refunds are processed"
    assert caught.value.details == {"provider": "openai", "reason": "connection_error"}
    assert len(script.requests) == 1  # neither retried nor handed to the extractive provider


def test_a_stall_mid_stream_interrupts(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    script.default = Reply(stall_after=2, stall_seconds=HANG)
    chain = make_chain(openai_provider(server, SHORT_TIMEOUT))
    with pytest.raises(AnswerInterrupted) as caught:
        ask(chain, refund_passages)
    assert caught.value.partial_text == "Refunds are"
    assert caught.value.details["reason"] == "timeout"


def test_the_circuit_opens_skips_the_provider_then_lets_a_trial_through(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    registry = CollectorRegistry()
    policy = RetryPolicy(retries=0, backoff=0.01, max_wait=1.0)
    chain = make_chain(
        openai_provider(server),
        policy=policy,
        registry=registry,
        breaker_failures=2,
        breaker_reset_seconds=HANG,  # open until the test says the time is up, however slowly it runs
    )
    script.default = Reply(status=503)
    ask(chain, refund_passages)
    ask(chain, refund_passages)  # the second failure in a row opens the circuit
    assert registry.get_sample_value("lore_llm_circuit_open", {"provider": "openai"}) == 1
    skipped = ask(chain, refund_passages)
    assert len(script.requests) == 2  # the open circuit kept the third question away from the server
    assert skipped.failed_attempts == (Attempt("openai", "circuit_open"),)
    assert skipped.usage.provider == "extractive"
    chain.breakers["openai"].reset_timeout = 0  # the reset time is up
    script.default = Reply()
    recovered = ask(chain, refund_passages)
    assert recovered.usage.provider == "openai"
    assert registry.get_sample_value("lore_llm_circuit_open", {"provider": "openai"}) == 0


def test_every_provider_failing_is_reported_by_provider(server: LiveServer, script: Script) -> None:
    script.default = Reply(status=503)
    chain = make_chain(openai_provider(server), order=["openai"])
    with pytest.raises(NoProviderAnswered) as caught:
        ask(chain, [])
    assert caught.value.details == {"attempts": [{"provider": "openai", "reason": "server_error"}]}


def test_a_request_may_choose_the_providers(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    chain = make_chain(openai_provider(server))
    answer = ask(chain, refund_passages, providers=["extractive"])
    assert answer.usage.provider == "extractive"
    assert script.requests == []
    with pytest.raises(InvalidInput) as caught:
        ask(chain, refund_passages, providers=["gpt-local"])
    assert caught.value.details["known"] == ["extractive", "openai"]


def test_metrics_record_outcomes_latency_and_tokens(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    registry = CollectorRegistry()
    chain = make_chain(openai_provider(server), registry=registry)
    ask(chain, refund_passages)
    script.default = Reply(status=503)
    ask(chain, refund_passages)

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert sample("lore_llm_attempts_total", provider="openai", outcome="ok") == 1
    assert sample("lore_llm_attempts_total", provider="openai", outcome="server_error") == 3
    assert sample("lore_llm_attempts_total", provider="extractive", outcome="ok") == 1
    assert sample("lore_llm_tokens_total", provider="openai", kind="prompt") == 42
    assert sample("lore_llm_tokens_total", provider="openai", kind="completion") == 7
    assert sample("lore_llm_seconds_count", provider="openai") == 1
    assert sample("lore_llm_first_token_seconds_count", provider="extractive") == 1


def test_concurrent_answers_are_not_serialised_by_the_breaker(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    script.default = Reply(together=threading.Barrier(2))  # neither answers until both have asked
    chain = make_chain(openai_provider(server))
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: ask(chain, refund_passages), range(2)))
    assert [a.usage.provider for a in answers] == ["openai", "openai"]


def test_a_reader_that_stops_early_is_no_provider_failure(
    server: LiveServer, script: Script, refund_passages: list[Hit]
) -> None:
    registry = CollectorRegistry()
    chain = make_chain(openai_provider(server), registry=registry, breaker_failures=1)
    events = chain.stream(AnswerRequest(QUESTION, refund_passages))
    assert isinstance(next(events), TextDelta)
    events.close()
    assert chain.breakers["openai"].current_state == "closed"
    assert (
        registry.get_sample_value("lore_llm_attempts_total", {"provider": "openai", "outcome": "ok"}) is None
    )
    assert ask(chain, refund_passages).usage.provider == "openai"
