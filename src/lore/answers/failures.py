"""Classify HTTP failures the same way for every model provider: which ones another attempt may cure, and how
long the server asked to wait."""

from __future__ import annotations

import contextlib
import email.utils
import time
from collections.abc import Iterator, Mapping
from types import ModuleType

import httpx2

from lore.answers.errors import ProviderFailed, ProviderUnavailable

RATE_LIMITED = 429


def status_error(
    provider: str, status: int, headers: Mapping[str, str]
) -> ProviderUnavailable | ProviderFailed:
    """429 and 5xx are transient (fall back, retry); any other status is a refusal that retrying cannot cure."""
    if status == RATE_LIMITED:
        return ProviderUnavailable(provider, "rate_limited", status=status, retry_after=retry_after(headers))
    if status >= 500:
        return ProviderUnavailable(provider, "server_error", status=status, retry_after=retry_after(headers))
    return ProviderFailed(provider, "rejected", status=status)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked to wait: `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


@contextlib.contextmanager
def sdk_errors(provider: str, sdk: ModuleType) -> Iterator[None]:
    """Translate the errors of an official client library (`openai` or `anthropic`, which share their error
    classes' names) and of its HTTP transport into Lore's, dropping the originals: they hold the request."""
    try:
        yield
    except (sdk.APITimeoutError, httpx2.TimeoutException):
        raise ProviderUnavailable(provider, "timeout") from None
    except (sdk.APIConnectionError, httpx2.TransportError):
        raise ProviderUnavailable(provider, "connection_error") from None
    except sdk.APIStatusError as exc:
        raise status_error(provider, exc.status_code, exc.response.headers) from None
    except sdk.APIError:
        raise ProviderUnavailable(provider, "invalid_response") from None
