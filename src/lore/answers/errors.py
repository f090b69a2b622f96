"""Errors of the answer layer, all `LoreError`s so the API's table translates them.

    Unavailable
    ├── ProviderUnavailable       a provider failed in a way another attempt may not: timeout, connection,
    │   │                         5xx or 429 (with `retry_after` when the server said how long to wait)
    │   └── CircuitOpen           the provider failed too often lately: not even tried
    ├── AnswerInterrupted         a provider failed after text was sent: the answer stops there
    └── NoProviderAnswered        every provider of the chain failed
    LoreError
    └── ProviderFailed            a provider refused the request (4xx other than 429): retrying cannot help
        └── ProviderSetupError    the provider cannot run as this server is set up: refused before any request
            ├── ProviderNotConfigured   a setting it needs is not set (`details.setting` names it)
            └── ProviderNotInstalled    its optional packages or model are missing (`details.install` says how)

Messages name the provider and the HTTP status or error kind only, never a server's error body (servers echo
parts of API keys in them) nor the client's exception (it holds the request and its headers).
"""

from __future__ import annotations

from typing import Any

from lore.errors import LoreError, Unavailable


class ProviderUnavailable(Unavailable):
    code = "provider_unavailable"

    def __init__(
        self, provider: str, reason: str, *, retry_after: float | None = None, status: int | None = None
    ) -> None:
        details: dict[str, Any] = {"provider": provider, "reason": reason}
        if status is not None:
            details["status"] = status
        if retry_after is not None:
            details["retry_after"] = retry_after
        super().__init__(f"LLM provider {provider!r} is unavailable: {reason}", details=details)
        self.provider = provider
        self.reason = reason
        self.retry_after = retry_after


class CircuitOpen(ProviderUnavailable):
    code = "provider_circuit_open"

    def __init__(self, provider: str) -> None:
        super().__init__(provider, "circuit_open")


class ProviderFailed(LoreError):
    code = "provider_error"

    def __init__(self, provider: str, reason: str, *, status: int | None = None) -> None:
        details: dict[str, Any] = {"provider": provider, "reason": reason}
        if status is not None:
            details["status"] = status
        super().__init__(f"LLM provider {provider!r} refused the request: {reason}", details=details)
        self.provider = provider
        self.reason = reason


class ProviderSetupError(ProviderFailed):
    """Not retried and not passed over for the next provider: the chain's refusal rule, since only the
    server's operator can fix it. The message says what to do."""

    def __init__(self, provider: str, reason: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(provider, reason)
        self.message = message
        self.args = (message,)
        self.details.update(details)


class ProviderNotConfigured(ProviderSetupError):
    code = "provider_not_configured"

    def __init__(self, provider: str, setting: str, why: str, reason: str = "not_configured") -> None:
        message = f"LLM provider {provider!r} is not configured: {why}; set {setting}"
        super().__init__(provider, reason, message, {"setting": setting})


class ProviderNotInstalled(ProviderSetupError):
    code = "provider_unavailable"

    def __init__(self, provider: str, what: str, install: str) -> None:
        message = f"LLM provider {provider!r} is not installed: {what}; {install}"
        super().__init__(provider, "not_installed", message, {"install": install})


class AnswerInterrupted(Unavailable):
    code = "answer_interrupted"

    def __init__(self, provider: str, reason: str, partial_text: str) -> None:
        super().__init__(
            f"LLM provider {provider!r} failed mid-answer: {reason}",
            details={"provider": provider, "reason": reason},
        )
        self.provider = provider
        self.partial_text = partial_text


class NoProviderAnswered(Unavailable):
    code = "no_provider_answered"

    def __init__(self, attempts: list[tuple[str, str]]) -> None:
        tried = ", ".join(f"{name} ({reason})" for name, reason in attempts) or "none configured"
        super().__init__(
            f"no LLM provider could answer: {tried}",
            details={"attempts": [{"provider": name, "reason": reason} for name, reason in attempts]},
        )
