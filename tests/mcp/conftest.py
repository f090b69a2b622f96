"""A small knowledge base for the MCP tests, over both transports: two collections and a restricted document
in the default tenant, and a document of another tenant that no caller of the default tenant may see."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from lore.models import Access
from lore.service import Lore

RESET = "Reset your password"
PAYROLL = "Payroll calendar"
BOARD = "Board minutes"
ACME = "Acme launch plan"


def fill(lore: Lore) -> dict[str, str]:
    """The documents, by title; the tenant `acme` and the group `board` are
    created for them."""
    lore.store.tenants.create("acme")
    lore.store.groups.create("default", "board")
    documents = [
        lore.add_text(
            title=RESET,
            text="Open Settings, choose Security and click Reset password. A link arrives by email.",
            collection="help",
            tags=["account"],
        ),
        lore.add_text(
            title="Download an invoice",
            text="Invoices are under Billing. Click Download next to the month you need.",
            collection="help",
        ),
        lore.add_text(
            title=PAYROLL, text="Salaries are paid on the 25th of every month.", collection="internal"
        ),
        lore.add_text(
            title=BOARD,
            text="The board approved the password policy for next year.",
            collection="help",
            access=Access(restricted=True, groups=("board",)),
        ),
        lore.add_text(
            title=ACME, text="Acme resets every password on launch day.", tenant_id="acme", collection="help"
        ),
    ]
    return {document.title: document.id for document in documents}


def data(result: types.CallToolResult) -> dict[str, Any]:
    """A successful tool result's value, the same as its text and its structured content."""
    assert not result.is_error, result.content
    value: dict[str, Any] = result.structured_content
    assert json.loads(result.content[0].text) == value  # type: ignore[union-attr]
    return value


def error(result: types.CallToolResult) -> dict[str, Any]:
    """A refused tool call's error object: the API's error body."""
    assert result.is_error, result.content
    body = json.loads(result.content[0].text)  # type: ignore[union-attr]
    assert body == result.structured_content
    assert set(body["error"]) == {"code", "message", "details"}
    assert "Traceback" not in result.content[0].text  # type: ignore[union-attr]
    return dict(body["error"])
