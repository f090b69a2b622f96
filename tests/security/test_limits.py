"""Rate limits over the `limits` library: moving windows per tenant, user, key and client address, in process
memory and in a real Redis (each test under a key prefix of its own)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis

from lore.config import Settings
from lore.security.limits import Limit, RateLimiter, Verdict, limits_for
from lore.security.principal import Principal
from lore.security.quotas import TenantPolicy, defaults
from lore.security.scopes import PUBLISHABLE_SCOPES, ROLE_SCOPES
from tests.event_loops import run_async

REDIS_URL = "redis://127.0.0.1:6379/14"
UNREACHABLE = "redis://127.0.0.1:1/14"  # nothing listens on port 1

KEY = Principal("acme", "key", "k1", ROLE_SCOPES["editor"])
LIMITED_KEY = replace(KEY, rate_limit="3/minute")
OTHER_KEY = replace(KEY, id="k2")
USER = Principal("acme", "user", "u1", ROLE_SCOPES["viewer"], role="viewer")
PUBLISHABLE = Principal("acme", "publishable", "p1", PUBLISHABLE_SCOPES)


def policy(**rates: str | None) -> TenantPolicy:
    base = defaults(Settings(_env_file=None).limits)
    return TenantPolicy({**base.rate_limits, "address": None, **rates}, base.quotas)


@pytest.fixture(params=["memory", "redis"])
def limiter_settings(request: pytest.FixtureRequest) -> Iterator[Settings]:
    """Memory, or Redis under a fresh prefix whose keys are deleted afterwards."""
    if request.param == "memory":
        yield Settings(_env_file=None)
        return
    prefix = f"lore-test-{uuid.uuid4().hex}"
    yield Settings(_env_file=None, redis_url=REDIS_URL, rate_limit_prefix=prefix)
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def run(settings: Settings, scenario: Callable[[RateLimiter], Awaitable[Any]]) -> Any:
    """The scenario inside one event loop of its own thread, over a limiter built in it (as the app's lifespan
    does)."""

    async def main() -> Any:
        limiter = RateLimiter.from_settings(settings)
        try:
            return await scenario(limiter)
        finally:
            await limiter.close()

    return run_async(main)


async def hits(limiter: RateLimiter, limits: list[Limit], times: int) -> list[Verdict]:
    return [await limiter.hit(limits) for _ in range(times)]


def test_a_key_gets_its_own_limit_over_the_tenants_key_default(limiter_settings: Settings) -> None:
    limits = limits_for(LIMITED_KEY, policy(key="100/minute"), address=None)

    verdicts = run(limiter_settings, lambda limiter: hits(limiter, limits, 4))

    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.window.remaining for v in verdicts if v.window] == [2, 1, 0, 0]
    assert all(v.window and v.window.limit == 3 for v in verdicts)
    refused = verdicts[-1]
    assert refused.limited_by == "key"
    assert refused.window and 0 < refused.window.reset_seconds <= 60


def test_keys_are_counted_apart_and_the_tenant_counts_them_together(limiter_settings: Settings) -> None:
    rules = policy(key="2/minute", tenant="3/minute")

    async def scenario(limiter: RateLimiter) -> list[Verdict]:
        first = limits_for(KEY, rules, address=None)
        second = limits_for(OTHER_KEY, rules, address=None)
        return [*await hits(limiter, first, 3), *await hits(limiter, second, 2)]

    verdicts = run(limiter_settings, scenario)

    assert [v.allowed for v in verdicts] == [True, True, False, True, False]
    assert [v.limited_by for v in verdicts] == [None, None, "key", None, "tenant"]
    # the key refused first spent none of the tenant's allowance: k2 got the third tenant slot
    assert verdicts[3].window and verdicts[3].window.remaining == 0


def test_a_user_is_limited_by_the_user_default_not_the_key_one(limiter_settings: Settings) -> None:
    rules = policy(key="1/minute", user="2/minute")
    limits = limits_for(USER, rules, address=None)

    verdicts = run(limiter_settings, lambda limiter: hits(limiter, limits, 3))

    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[-1].limited_by == "user"


def test_a_publishable_key_is_limited_per_client_address(limiter_settings: Settings) -> None:
    rules = policy(address="2/minute")

    async def scenario(limiter: RateLimiter) -> list[Verdict]:
        one = limits_for(PUBLISHABLE, rules, address="203.0.113.7")
        two = limits_for(PUBLISHABLE, rules, address="198.51.100.9")
        return [*await hits(limiter, one, 3), *await hits(limiter, two, 1)]

    verdicts = run(limiter_settings, scenario)

    assert [v.allowed for v in verdicts] == [True, True, False, True]
    assert verdicts[2].limited_by == "address"


def test_several_windows_report_the_one_closest_to_running_out(limiter_settings: Settings) -> None:
    limits = limits_for(replace(KEY, rate_limit="2/second;100/hour"), policy(), address=None)

    verdicts = run(limiter_settings, lambda limiter: hits(limiter, limits, 2))

    assert [(v.window.limit, v.window.remaining) for v in verdicts if v.window] == [(2, 1), (2, 0)]


def test_tenants_never_share_a_counter(limiter_settings: Settings) -> None:
    rules = policy(tenant="1/minute")
    other_tenant = replace(KEY, tenant_id="globex")

    async def scenario(limiter: RateLimiter) -> list[bool]:
        ours = limits_for(KEY, rules, address=None)
        theirs = limits_for(other_tenant, rules, address=None)
        return [(await limiter.hit(ours)).allowed, (await limiter.hit(theirs)).allowed]

    assert run(limiter_settings, scenario) == [True, True]


def test_no_limit_applies_without_one_configured() -> None:
    assert limits_for(KEY, policy(), address="203.0.113.7") == []
    the_operator = Principal("acme", "operator", "operator", frozenset())
    assert limits_for(the_operator, policy(tenant="1/minute"), address=None) == []
    verdict = run(Settings(_env_file=None), lambda limiter: limiter.hit([]))
    assert verdict == Verdict(True)


def test_an_unreachable_redis_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(_env_file=None, redis_url=UNREACHABLE)
    limits = limits_for(LIMITED_KEY, policy(), address=None)

    verdicts = run(settings, lambda limiter: hits(limiter, limits, 2))

    assert [v.allowed for v in verdicts] == [True, True]
    assert any("storage unavailable" in record.getMessage() for record in caplog.records)
