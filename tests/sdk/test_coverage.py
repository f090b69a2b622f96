"""Every operation of the API has an SDK method, and every SDK method an operation: the route table is compared
with the OpenAPI the served instance publishes, so a new route without a method fails here."""

from __future__ import annotations

import httpx
from lore_client import ROUTES, AsyncLore, Lore
from lore_client._client import _Api
from lore_client._routes import Namespace

from tests.event_loops import run_async
from tests.served import ServedLore


def operations(served: ServedLore) -> set[tuple[str, str]]:
    spec = httpx.get(f"{served.url}/openapi.json", timeout=30).raise_for_status().json()
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item}


def test_every_operation_of_the_openapi_has_an_sdk_method(served: ServedLore) -> None:
    declared = {(route.method, route.path) for route in ROUTES}
    missing = sorted(operations(served) - declared)
    assert missing == [], f"routes without an SDK method (add one in lore_client._resources): {missing}"


def test_every_sdk_method_calls_an_operation_of_the_openapi(served: ServedLore) -> None:
    stale = sorted({(route.method, route.path) for route in ROUTES} - operations(served))
    assert stale == []


def reachable(client: Lore | AsyncLore, name: str) -> bool:
    *namespace, method = name.split(".")
    return callable(getattr(getattr(client, namespace[0]) if namespace else client, method))


def test_sdk_names_are_unique_and_reachable_on_both_clients() -> None:
    names = [route.name for route in ROUTES]
    assert len(names) == len(set(names))
    asynchronous = AsyncLore()
    with Lore() as synchronous:
        assert [name for name in names if not reachable(synchronous, name)] == []
        assert [name for name in names if not reachable(asynchronous, name)] == []
    run_async(asynchronous.aclose)


def test_every_namespace_of_the_client_is_in_the_table() -> None:
    with Lore() as client:
        attached = {type(value) for value in vars(client).values() if isinstance(value, Namespace)}
    assert attached == set(_Api.NAMESPACES)
