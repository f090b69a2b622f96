"""Each tenant's answer providers: the ones its policy allows, holding its own provider keys where it set them,
and a record of how those keys fare.

    >>> providers = TenantProviders(chain, settings, stored_policies(db), secrets, audit)
    >>> order = providers.resolve("acme", ["anthropic"])  # 403 provider_not_allowed unless acme allows it
    >>> for event in providers.stream("acme", request, order): ...

A tenant's `openai_api_key` or `anthropic_api_key` replaces the server's for its requests; the provider built with
it is kept until the key changes. Each answer by such a key marks it used (`last_used_at`, at most once a minute);
a 401 or 403 from the provider flags it (`failing_since`) and the tenant's audit log says so once, until an answer
succeeds with it again. The server's own keys are watched the same way, in this process, for /readyz.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import SecretStr

from lore.answers.availability import unavailable
from lore.answers.build import llm_providers
from lore.answers.chain import ProviderChain
from lore.answers.errors import ProviderFailed
from lore.answers.types import Answer, AnswerEvent, AnswerRequest
from lore.backends.store.database import Database
from lore.backends.store.secret_records import SecretRecord
from lore.config import Settings
from lore.models import utcnow
from lore.security.audit import AuditLog
from lore.security.policy import TenantSettings, provider_order
from lore.security.secrets import SecretName, TenantSecrets

PROVIDER_KEYS: dict[str, SecretName] = {"openai": "openai_api_key", "anthropic": "anthropic_api_key"}
REFUSED = (401, 403)  # the provider does not accept the key
USE_EVERY = timedelta(minutes=1)
SYSTEM = "system"  # the actor of what Lore itself notices

PolicyOf = Callable[[str], TenantSettings]
_Fingerprint = tuple[tuple[str, datetime], ...]


def stored_policies(db: Database) -> PolicyOf:
    """Each tenant's stored policy, read for every answer: an owner's change holds from the next request on,
    on every replica."""

    def read(tenant_id: str) -> TenantSettings:
        tenant = db.tenants.get(tenant_id)
        return TenantSettings.stored(tenant.settings if tenant is not None else None)

    return read


@dataclass(frozen=True, slots=True)
class _TenantChain:
    fingerprint: _Fingerprint
    chain: ProviderChain


class TenantProviders:
    def __init__(
        self,
        chain: ProviderChain,
        settings: Settings,
        policy_of: PolicyOf | None = None,
        secrets: TenantSecrets | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        """`policy_of` None: the operator's own use on the machine (the CLI, evaluations), where every
        provider of the chain may answer."""
        self.chain = chain
        self.settings = settings
        self.policy_of = policy_of
        self.secrets = secrets
        self.audit = audit
        self._chains: dict[str, _TenantChain] = {}
        self._marked: dict[tuple[str, str], float] = {}
        self._server_failing: dict[str, datetime] = {}
        self._lock = threading.Lock()

    # --- policy ----------------------------------------------------------------------------------------------

    def allowed(self, tenant_id: str) -> list[str]:
        """The providers the tenant may use: those its policy names (the configured chain by default), as far
        as the server's chain holds them or the tenant has its own key for them."""
        if self.policy_of is None:
            return sorted(self.chain.providers)
        usable = {*self.chain.order, *self._keys(tenant_id)}
        return [name for name in self.policy_of(tenant_id).allowed(self.chain.order) if name in usable]

    def available(self, tenant_id: str) -> list[str]:
        """The providers the tenant may use that can answer now: configured (with the tenant's own key where
        it has one), installed, their server reachable."""
        keys = self._keys(tenant_id)
        providers = self._chain_for(tenant_id, keys).providers if keys else self.chain.providers
        return [name for name in self.allowed(tenant_id) if unavailable(providers[name]) is None]

    def resolve(self, tenant_id: str, requested: Sequence[str] | None) -> list[str]:
        """The providers to try: unknown names are `InvalidInput`, names the tenant may not use
        `ProviderNotAllowed`."""
        if requested:
            self.chain.check(requested)
        return provider_order(requested, self.allowed(tenant_id), self.chain.order)

    # --- answering -------------------------------------------------------------------------------------------

    def stream(
        self, tenant_id: str, request: AnswerRequest, providers: Sequence[str]
    ) -> Iterator[AnswerEvent]:
        keys = self._keys(tenant_id)
        events = self._chain_for(tenant_id, keys).stream(request, providers)
        return self._watched(tenant_id, keys, events)

    def _keys(self, tenant_id: str) -> dict[str, SecretRecord]:
        """Provider name -> the tenant's own key for it, read afresh for each answer."""
        if self.secrets is None:
            return {}
        stored = {record.name: record for record in self.secrets.list(tenant_id)}
        return {
            provider: stored[name]
            for provider, name in PROVIDER_KEYS.items()
            if name in stored and provider in self.chain.providers
        }

    def _chain_for(self, tenant_id: str, keys: Mapping[str, SecretRecord]) -> ProviderChain:
        if not keys or self.secrets is None:
            return self.chain
        fingerprint = tuple(sorted((provider, record.updated_at) for provider, record in keys.items()))
        cached = self._chains.get(tenant_id)
        if cached is None or cached.fingerprint != fingerprint:
            secrets = self.secrets
            own = {
                provider: llm_providers.get(provider)(
                    self.settings.updated(**{record.name: SecretStr(secrets.reveal(record))})
                )
                for provider, record in keys.items()
            }
            cached = self._chains[tenant_id] = _TenantChain(fingerprint, self.chain.with_providers(own))
        return cached.chain

    def _watched(
        self, tenant_id: str, keys: Mapping[str, SecretRecord], events: Iterator[AnswerEvent]
    ) -> Iterator[AnswerEvent]:
        try:
            for event in events:
                if isinstance(event, Answer):
                    self._answered(tenant_id, keys.get(event.usage.provider), event.usage.provider)
                yield event
        except ProviderFailed as error:
            status = error.details.get("status")
            if status in REFUSED:
                self._refused(tenant_id, keys.get(error.provider), error.provider, status)
            raise

    # --- how keys fare ---------------------------------------------------------------------------------------

    def _answered(self, tenant_id: str, record: SecretRecord | None, provider: str) -> None:
        if record is None:
            if self._server_failing.pop(provider, None) is not None:
                self._report(tenant_id, "provider_key.recovered", f"server:{PROVIDER_KEYS[provider]}", {})
            return
        assert self.secrets is not None
        records = self.secrets.records
        if self._due(tenant_id, record.name):
            records.mark_used(tenant_id, record.name, record.updated_at, USE_EVERY)
        if record.failing_since is not None and records.set_failing(
            tenant_id, record.name, record.updated_at, failing=False
        ):
            self._report(tenant_id, "provider_key.recovered", record.name, {"provider": provider})

    def _refused(self, tenant_id: str, record: SecretRecord | None, provider: str, status: int) -> None:
        summary = {"provider": provider, "status": status}
        if record is None:
            if provider in PROVIDER_KEYS and provider not in self._server_failing:
                self._server_failing[provider] = utcnow()
                self._report(tenant_id, "provider_key.failing", f"server:{PROVIDER_KEYS[provider]}", summary)
            return
        assert self.secrets is not None
        if self.secrets.records.set_failing(tenant_id, record.name, record.updated_at, failing=True):
            self._report(tenant_id, "provider_key.failing", record.name, summary)

    def _due(self, tenant_id: str, name: str) -> bool:
        """Whether this process should record a use now: at most once per `USE_EVERY` per key."""
        now = time.monotonic()
        with self._lock:
            last = self._marked.get((tenant_id, name))
            if last is not None and now - last < USE_EVERY.total_seconds():
                return False
            self._marked[(tenant_id, name)] = now
            return True

    def _report(self, tenant_id: str, action: str, target: str, summary: dict[str, object]) -> None:
        if self.audit is not None:
            self.audit.record(tenant_id, SYSTEM, action, target=target, summary=summary)

    def readiness(self) -> dict[str, object]:
        """What /readyz reports of the server's providers, without calling any: those configured, the state of
        each one's circuit breaker, how many tenants' provider keys are refused and which of the server's are.
        `failing` when none of the configured providers can answer now."""
        failing = self.secrets.records.count_failing() if self.secrets is not None else 0
        circuits = {name: str(self.chain.breakers[name].current_state) for name in self.chain.order}
        down = {name for name, state in circuits.items() if state == "open"} | set(self._server_failing)
        return {
            "status": "failing" if down >= set(self.chain.order) else "ok",
            "configured": list(self.chain.order),
            "circuits": circuits,
            "failing_tenant_keys": failing,
            "failing_server_keys": sorted(self._server_failing),
        }
