"""Lore as an MCP server: `lore mcp` on stdio and `POST /mcp` (streamable HTTP) in the API; see docs/mcp.md."""
