"""Webhooks through the API of a live server: signed deliveries a receiver verifies, retries after errors and
timeouts, secret rotation with an overlap, an endpoint disabled for failing, replay, the collection filter,
tenants kept apart, and SSRF targets refused."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from standardwebhooks import WebhookVerificationError

from tests.api.conftest import LiveServer, assert_error
from tests.keys import bearer, mint_key
from tests.waiting import wait_for
from tests.webhooks.calls import deliveries, index, settled, subscribe
from tests.webhooks.receiver import Answer, Receiver

pytestmark = pytest.mark.usefixtures("unsubscribed")


def test_a_delivery_is_signed_and_verifies_with_the_secret_shown_once(
    client: httpx.Client, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = subscribe(client, receiver.url, ["document.indexed"], description="search team")
    assert created["secret"].startswith("whsec_")
    shown = client.get(f"/v1/webhooks/{created['id']}").json()
    assert "secret" not in shown and created["secret"] not in str(client.get("/v1/webhooks").json())
    document_id = index(client)
    (arrival,) = receiver.wait(1)
    payload = arrival.verifies(created["secret"])
    assert payload["type"] == "document.indexed"
    assert payload["data"]["document_id"] == document_id and payload["data"]["collection"] == "default"
    (delivery,) = settled(client, created["id"])
    assert (delivery["state"], delivery["attempts"], delivery["status_code"]) == ("delivered", 1, 204)
    assert delivery["latency_ms"] > 0 and delivery["event_id"] == arrival.id
    with pytest.raises(WebhookVerificationError):
        arrival.verifies("whsec_" + "A" * 32)
    rotated = client.post(f"/v1/webhooks/{created['id']}/rotate").json()["secret"]
    assert caplog.records and created["secret"] not in caplog.text and rotated not in caplog.text


def test_error_statuses_are_retried_until_the_endpoint_accepts(
    client: httpx.Client, receiver: Receiver
) -> None:
    receiver.then(Answer(500), Answer(503))
    created = subscribe(client, receiver.url, ["document.deleted"])
    client.delete(f"/v1/documents/{index(client)}").raise_for_status()
    (delivery,) = settled(client, created["id"])
    assert (delivery["state"], delivery["attempts"], delivery["error"]) == ("delivered", 3, None)
    arrivals = receiver.wait(3)
    assert len({arrival.id for arrival in arrivals}) == 1  # one message, sent three times
    for arrival in arrivals:
        assert arrival.verifies(created["secret"])["type"] == "document.deleted"


def test_a_slow_endpoint_times_out_and_is_tried_again(client: httpx.Client, receiver: Receiver) -> None:
    receiver.then(Answer(delay=2.0))
    created = subscribe(client, receiver.url, ["document.indexed"])
    index(client)

    def failed_once() -> dict[str, Any] | None:
        items = deliveries(client, created["id"])
        return items[0] if items and items[0]["attempts"] >= 1 else None

    first = wait_for(failed_once, "the first attempt to time out")
    assert first["state"] == "pending" and "Timeout" in first["error"] and first["next_attempt_at"]
    (delivery,) = settled(client, created["id"])
    assert (delivery["state"], delivery["attempts"]) == ("delivered", 2)


def test_after_a_rotation_both_secrets_verify_until_the_overlap_ends(
    client: httpx.Client, receiver: Receiver
) -> None:
    created = subscribe(client, receiver.url, ["document.indexed"])
    rotated = client.post(f"/v1/webhooks/{created['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["secret"] != created["secret"] and new["previous_secret_until"] is not None
    index(client)
    (arrival,) = receiver.wait(1)
    assert len(arrival.headers["webhook-signature"].split(" ")) == 2
    assert arrival.verifies(created["secret"]) == arrival.verifies(new["secret"])


def test_an_endpoint_that_keeps_failing_is_disabled_audited_and_announced(
    client: httpx.Client, receiver: Receiver
) -> None:
    with Receiver(default=Answer(500)) as broken:
        failing = subscribe(client, broken.url, ["document.indexed"])
        watcher = subscribe(client, receiver.url, ["webhook.disabled"])
        index(client)
        (delivery,) = settled(client, failing["id"])
    assert delivery["state"] == "failed" and delivery["attempts"] == 3
    endpoint = client.get(f"/v1/webhooks/{failing['id']}").json()
    assert endpoint["enabled"] is False and "3 failed attempts" in endpoint["disabled_reason"]
    (arrival,) = receiver.wait(1)
    announced = arrival.verifies(watcher["secret"])
    assert announced["type"] == "webhook.disabled" and announced["data"]["webhook_id"] == failing["id"]
    actions = [(r["action"], r["target"]) for r in client.get("/v1/audit").json()["items"]]
    assert ("webhook.disabled", failing["id"]) in actions
    replay = client.post(f"/v1/webhooks/{failing['id']}/deliveries/{delivery['id']}/replay")
    assert_error(replay, 409, "conflict")
    enabled = client.patch(f"/v1/webhooks/{failing['id']}", json={"enabled": True}).json()
    assert (enabled["enabled"], enabled["failures"], enabled["disabled_reason"]) == (True, 0, None)
    client.delete(f"/v1/webhooks/{failing['id']}").raise_for_status()


def test_a_delivery_can_be_replayed(client: httpx.Client, receiver: Receiver) -> None:
    created = subscribe(client, receiver.url, ["document.indexed"])
    index(client)
    (first,) = settled(client, created["id"])
    replayed = client.post(f"/v1/webhooks/{created['id']}/deliveries/{first['id']}/replay")
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["id"] != first["id"] and replayed.json()["event_id"] == first["event_id"]
    assert replayed.json()["state"] == "pending" and replayed.json()["job_id"]
    settled(client, created["id"], 2)
    arrivals = receiver.wait(2)
    assert arrivals[0].id == arrivals[1].id and arrivals[0].body == arrivals[1].body
    assert arrivals[1].verifies(created["secret"])


def test_the_collection_filter_lets_only_its_collections_events_through(
    client: httpx.Client, receiver: Receiver
) -> None:
    created = subscribe(client, receiver.url, ["document.indexed"], collections=["faq"])
    index(client, "other")
    wanted = index(client, "faq")
    assert len(settled(client, created["id"])) == 1
    (arrival,) = receiver.wait(1)
    assert arrival.verifies(created["secret"])["data"]["document_id"] == wanted
    narrowed = client.patch(f"/v1/webhooks/{created['id']}", json={"collections": None}).json()
    assert narrowed["collections"] is None
    index(client, "other")
    receiver.wait(2)


def test_another_tenants_webhooks_are_invisible(
    server: LiveServer, client: httpx.Client, receiver: Receiver
) -> None:
    created = subscribe(client, receiver.url, ["job.failed"])
    server.lore.store.tenants.create("acme")
    with httpx.Client(
        base_url=server.url, headers=bearer(mint_key(server.lore.store, tenant="acme"))
    ) as other:
        assert other.get("/v1/webhooks").json()["items"] == []
        assert_error(other.get(f"/v1/webhooks/{created['id']}"), 404, "not_found")
        assert_error(other.patch(f"/v1/webhooks/{created['id']}", json={"enabled": False}), 404, "not_found")
        assert_error(other.post(f"/v1/webhooks/{created['id']}/rotate"), 404, "not_found")
        assert_error(other.get(f"/v1/webhooks/{created['id']}/deliveries"), 404, "not_found")
        assert_error(other.delete(f"/v1/webhooks/{created['id']}"), 404, "not_found")
    assert client.get(f"/v1/webhooks/{created['id']}").json()["enabled"] is True


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hook",  # a private network
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",  # a cloud's metadata service
        "https://[fd00::1]/hook",  # IPv6 unique-local
        "https://0.0.0.0/hook",
        "http://example.com/hook",  # http off loopback
        "ftp://example.com/hook",
        "https://user:pw@example.com/hook",
        "https://no-such-host.invalid/hook",
    ],
)
def test_ssrf_targets_are_refused_with_a_clear_error(client: httpx.Client, url: str) -> None:
    error = assert_error(
        client.post("/v1/webhooks", json={"url": url, "events": ["job.failed"]}), 422, "webhook_url_refused"
    )
    assert error["message"].startswith("webhook URL refused: ") and error["details"]["reason"]


def test_bad_subscriptions_get_the_apis_codes(client: httpx.Client, receiver: Receiver) -> None:
    assert_error(
        client.post("/v1/webhooks", json={"url": receiver.url, "events": []}), 422, "invalid_request"
    )
    assert_error(
        client.post("/v1/webhooks", json={"url": receiver.url, "events": ["nope"]}), 422, "invalid_request"
    )
    bad_name = {"url": receiver.url, "events": ["job.failed"], "collections": ["no spaces"]}
    assert client.post("/v1/webhooks", json=bad_name).status_code == 422
    assert_error(client.get("/v1/webhooks/whk_missing"), 404, "not_found")
    created = subscribe(client, receiver.url, ["job.failed"])
    missing = client.post(f"/v1/webhooks/{created['id']}/deliveries/dlv_missing/replay")
    assert_error(missing, 404, "not_found")
