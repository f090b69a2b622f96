"""What the load test's simulated users do: every request Locust names, the route it reaches, and how often a
user picks each task. Plain data, read by the locustfile, by the harness (to put routes in the report) and by
tests/operations/test_load_harness.py, none of which need Locust to import it."""

from __future__ import annotations

# Locust's name of each request -> the route it reaches (a key of `lore.api.permissions.ROUTE_SCOPES`).
ROUTES: dict[str, str] = {
    "search hybrid": "POST /v1/search",
    "search keyword": "POST /v1/search",
    "conversation create": "POST /v1/conversations",
    "ask": "POST /v1/conversations/{conversation_id}/messages",
    "ask streamed": "POST /v1/conversations/{conversation_id}/messages",
    "upload": "POST /v1/documents",
    "list documents": "GET /v1/documents",
    "list jobs": "GET /v1/jobs",
    "list conversations": "GET /v1/conversations",
}

# Task -> weight. An ask starts a new conversation one time in three (`conversation create`), and follows up
# in the user's last one otherwise.
WEIGHTS: dict[str, int] = {
    "search hybrid": 30,
    "search keyword": 15,
    "ask": 8,
    "ask streamed": 6,
    "upload": 5,
    "list documents": 5,
    "list jobs": 3,
    "list conversations": 4,
}

# Scopes of the simulated users' keys: what the mix needs, nothing more.
SCOPES = ("search", "ask", "documents:read", "documents:write")

# A shed request is reported under its name with this suffix, so that shed and served are counted apart.
SHED = " (shed)"


def handler(task: str) -> str:
    """The locustfile's method that performs a task."""
    return "do_" + task.replace(" ", "_")
