"""Tenant policies (settings defaults, a tenant's own values over them, validation) and the quota checks over a
real store on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lore.backends.store.database import Database
from lore.backends.store.usage_records import UsageKey
from lore.config import Settings
from lore.errors import InvalidInput, QuotaExceeded
from lore.models import DocumentDraft
from lore.registry import create_store
from lore.security.addresses import ClientAddresses
from lore.security.quotas import Policies, Quotas, check_policy, defaults, policy_of
from lore.security.usage import UsageRecorder, utc_day

SETTINGS = Settings(_env_file=None, rate_limit_key="100/minute", quota_documents=50)
BASE = defaults(SETTINGS.limits)


def test_a_tenants_policy_overrides_the_defaults_and_null_lifts_a_limit() -> None:
    policy = policy_of(
        BASE, {"rate_limits": {"tenant": "10/second", "key": None}, "quotas": {"documents": 3}}
    )
    assert policy.rate_limits == {"tenant": "10/second", "user": None, "key": None, "address": "60/minute"}
    assert policy.quotas["documents"] == 3 and policy.quotas["tokens_per_day"] is None
    assert policy_of(BASE, None) == BASE and policy_of(BASE, {"mfa": True}) == BASE


@pytest.mark.parametrize(
    "settings",
    [
        {"rate_limits": {"tenant": "lots"}},
        {"rate_limits": {"burst": "1/second"}},
        {"rate_limits": {"address": None}},  # publishable keys are always limited per address
        {"quotas": {"documents": -1}},
        {"quotas": {"documents": True}},
        {"quotas": {"seats": 3}},
        {"quotas": [1]},
    ],
)
def test_a_malformed_policy_is_refused_and_ignored(
    settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(InvalidInput):
        check_policy(settings)
    assert policy_of(BASE, settings) == BASE
    assert "tenant policy ignored" in caplog.text


def test_bad_settings_are_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="rate_limit_tenant"):
        Settings(_env_file=None, rate_limit_tenant="ten a second")
    with pytest.raises(ValueError, match="rate_limit_address"):
        Settings(_env_file=None, rate_limit_address="")
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings(_env_file=None, trusted_proxies="10.0.0.0/8, proxy.example")
    assert Settings(_env_file=None, rate_limit_user="").limits.rate_limit_user is None


def test_policies_are_cached_per_tenant() -> None:
    reads: list[str] = []

    def source(tenant: str) -> dict[str, Any]:
        reads.append(tenant)
        return {"quotas": {"documents": len(reads)}}

    policies = Policies(source, BASE, ttl=3600)
    assert policies.cached("acme") is None
    assert policies.of("acme").quotas["documents"] == 1
    assert policies.of("acme").quotas["documents"] == 1 and reads == ["acme"]
    assert Policies(source, BASE, ttl=0).of("acme").quotas["documents"] == 2


def test_client_addresses_believe_only_trusted_proxies() -> None:
    direct = ClientAddresses("")
    assert direct.of("203.0.113.7", "198.51.100.1") == "203.0.113.7"
    proxied = ClientAddresses("10.0.0.0/8, ::1")
    assert proxied.of("10.0.0.2", "198.51.100.1, 203.0.113.7, 10.0.0.3") == "203.0.113.7"
    assert proxied.of("10.0.0.2", "10.0.0.5") == "10.0.0.5"  # only proxies: the first one
    assert proxied.of("10.0.0.2", "not-an-address") == "10.0.0.2"
    assert proxied.of("::1", None) == "::1" and proxied.of(None, "203.0.113.7") is None
    assert proxied.of("198.51.100.1", "203.0.113.7") == "198.51.100.1"  # an untrusted peer's header


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    store = create_store(Settings(_env_file=None, data_dir=tmp_path, database_url=url))
    store.migrate()
    yield store
    store.close()


def store_document(db: Database, tenant: str, source: str, text: str) -> None:
    draft = DocumentDraft(tenant, "docs", source, source, text, content_hash=source)
    db.documents.write_document(draft, [], {}, model_id="m")


def test_storage_quotas_count_the_store_and_this_processs_additions(db: Database) -> None:
    quotas = Quotas(UsageRecorder(db.usage), db.usage, ttl=3600)
    policy = policy_of(BASE, {"quotas": {"documents": 3, "stored_bytes": 100}})
    store_document(db, "acme", "a", "x" * 40)
    quotas.check_storage("acme", policy)
    quotas.check_storage("acme", policy, documents=2)
    with pytest.raises(QuotaExceeded) as refused:
        quotas.check_storage("acme", policy, documents=3)
    assert refused.value.details == {"name": "documents", "limit": 3, "used": 1}

    quotas.added("acme", 2)  # counted at once; the store is read again only after ttl
    with pytest.raises(QuotaExceeded):
        quotas.check_storage("acme", policy)
    quotas.check_storage("globex", policy)


def test_the_bytes_quota_refuses_once_it_is_reached(db: Database) -> None:
    policy = policy_of(BASE, {"quotas": {"stored_bytes": 100}})
    store_document(db, "acme", "a", "é" * 50)  # 100 bytes, 50 characters
    with pytest.raises(QuotaExceeded) as refused:
        Quotas(UsageRecorder(db.usage), db.usage, ttl=0).check_storage("acme", policy)
    assert refused.value.details == {"name": "stored_bytes", "limit": 100, "used": 100}


def test_daily_quotas_count_every_process_and_ask_to_wait_for_midnight(db: Database) -> None:
    db.usage.add({UsageKey("acme", utc_day(), "k2", "tokens_out:anthropic"): 60})  # another process's
    recorder = UsageRecorder(db.usage)
    quotas = Quotas(recorder, db.usage, ttl=0)
    policy = policy_of(BASE, {"quotas": {"tokens_per_day": 100, "requests_per_day": 1}})
    recorder.add("acme", "k1", "tokens_in:openai", 39)
    quotas.check_tokens("acme", policy)
    recorder.add("acme", "k1", "tokens_in:openai", 1)
    with pytest.raises(QuotaExceeded) as refused:
        quotas.check_tokens("acme", policy)
    assert refused.value.details == {"name": "tokens_per_day", "limit": 100, "used": 100}
    assert 0 < refused.value.retry_after <= 86_400

    quotas.check_requests("acme", policy)
    recorder.add("acme", "k1", "requests")
    with pytest.raises(QuotaExceeded):
        quotas.check_requests("acme", policy)
    quotas.check_requests("acme", BASE)  # no quota: anything goes
