"""Lore's MCP server on the SDK's low-level `Server`: the tools of `lore.mcp.tools`, and the documents the caller
may read as resources (`lore://documents/{id}`, listed a page at a time). One server serves every transport;
`caller` turns the SDK's request context into the `Call` (who calls, on what), so stdio and HTTP differ only there.

A refused or failed tool call is a tool result with `isError` and, as its text and structured content, the API's
error body: `{"error": {"code": "forbidden", "message": ..., "details": {...}}}`. A refused resource read is a
JSON-RPC error whose `data` is that error object."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import anyio.to_thread
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ValidationError

from lore.errors import InvalidInput, LoreError, NotFound
from lore.mcp.tools import TOOLS, Call, allowed, documents_page, readable

logger = logging.getLogger("lore.mcp")

Caller = Callable[[ServerRequestContext[Any, Any]], Call]
DOCUMENT_PREFIX = "lore://documents/"
DOCUMENT_TEMPLATE = DOCUMENT_PREFIX + "{id}"
PAGE_SIZE = 50
RESOURCE_NOT_FOUND = -32002  # the MCP spec's code for an unknown resource
INVALID_PARAMS = -32602
INVALID_REQUEST = -32600
INSTRUCTIONS = (
    "Lore is a knowledge base. `search` finds passages, `ask` answers with numbered citations, `get_document` "
    "and the lore://documents/{id} resources read whole documents, `related` finds documents like one."
)


def build_server(caller: Caller) -> Server[Any]:
    def call_of(ctx: ServerRequestContext[Any, Any]) -> Call:
        """The request's call; a caller refused now (a key revoked meanwhile) is a JSON-RPC error."""
        try:
            return caller(ctx)
        except LoreError as error:
            raise _mcp_error(error) from None

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        principal = call_of(ctx).principal
        return types.ListToolsResult(
            tools=[_tool(name) for name, tool in TOOLS.items() if allowed(principal, tool.route)]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        try:
            return _result(await _run(caller(ctx), params.name, params.arguments or {}))
        except LoreError as error:
            return _error(error)
        except Exception:  # the caller learns no more than the API's 500 would tell it
            logger.exception("MCP tool %s failed", params.name)
            return _error(LoreError("internal error: the server failed to handle this"), "internal_error")

    async def list_resources(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        cursor = params.cursor if params is not None else None
        page = await _resource_call(documents_page, call_of(ctx), cursor, PAGE_SIZE)
        resources = [
            types.Resource(
                uri=DOCUMENT_PREFIX + document.id,
                name=document.title or document.id,
                description=f"{document.collection}: {document.source}",
                mime_type="text/plain",
            )
            for document in page.items
        ]
        return types.ListResourcesResult(resources=resources, next_cursor=page.next_cursor)

    async def list_templates(
        _ctx: ServerRequestContext[Any, Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        template = types.ResourceTemplate(
            uri_template=DOCUMENT_TEMPLATE,
            name="document",
            description="A document's text",
            mime_type="text/plain",
        )
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def read_resource(
        ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        document_id = uri.removeprefix(DOCUMENT_PREFIX)
        if document_id == uri or not document_id:
            raise _mcp_error(InvalidInput(f"not a Lore document: {uri!r}", details={"uri": uri}))
        document = await _resource_call(readable, call_of(ctx), document_id)
        text = types.TextResourceContents(uri=uri, mime_type="text/plain", text=document.text or "")
        return types.ReadResourceResult(contents=[text])

    return Server(
        "lore",
        version=version("lore"),
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )


def _tool(name: str) -> types.Tool:
    tool = TOOLS[name]
    schema = tool.args.model_json_schema()
    schema.pop("title", None)
    hints = types.ToolAnnotations(read_only_hint=tool.read_only)
    return types.Tool(name=name, description=tool.description, input_schema=schema, annotations=hints)


async def _run(call: Call, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The tool's result; each tool checks its own scope (one the caller may not use is not listed either)."""
    tool = TOOLS.get(name)
    if tool is None:
        raise NotFound(f"no tool {name!r}", details={"tool": name})
    result: dict[str, Any] = await tool.run(call, _parsed(tool.args, arguments))
    return result


def _parsed(model: type[BaseModel], arguments: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(arguments)
    except ValidationError as error:
        fields = [
            {"loc": [str(part) for part in e["loc"]], "message": e["msg"], "type": e["type"]}
            for e in error.errors(include_input=False)
        ]
        first = fields[0]
        where = ".".join(first["loc"]) or "arguments"
        raise InvalidInput(f"{where}: {first['message']}", details={"fields": fields}) from None


async def _resource_call(function: Callable[..., Any], call: Call, *args: Any) -> Any:
    """A blocking read for a resource request; a refusal becomes the JSON-RPC error carrying its code."""
    try:
        return await anyio.to_thread.run_sync(function, call, *args)
    except LoreError as error:
        raise _mcp_error(error) from None


def _mcp_error(error: LoreError) -> MCPError:
    if isinstance(error, NotFound):
        code = RESOURCE_NOT_FOUND
    else:
        code = INVALID_PARAMS if isinstance(error, InvalidInput) else INVALID_REQUEST
    return MCPError(code, error.message, _body(error)["error"])


def _body(error: LoreError, code: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code or error.code, "message": error.message, "details": error.details}}


def _result(value: dict[str, Any]) -> types.CallToolResult:
    text = types.TextContent(type="text", text=json.dumps(value, ensure_ascii=False))
    return types.CallToolResult(content=[text], structured_content=value)


def _error(error: LoreError, code: str | None = None) -> types.CallToolResult:
    body = _body(error, code)
    text = types.TextContent(type="text", text=json.dumps(body, ensure_ascii=False))
    return types.CallToolResult(content=[text], structured_content=body, is_error=True)
