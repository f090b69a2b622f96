"""The web UI, served by the API's own app at `/`: server-rendered pages (Jinja2, with jinja2-fragments for the
parts htmx swaps in) over the API's own route handlers, so a page sees and changes exactly what the same
principal could through the API, under the same route table (`lore.api.permissions.ROUTE_SCOPES`), and sends
the same events and metrics. A web session's cookie signs in (`lore.security.sessions`); every change carries
its CSRF token. The few scripts it needs (htmx, its SSE extension, uPlot) are vendored under `static/vendor`:
no build step, nothing loaded from another origin."""

from lore.ui.app import mount_ui

__all__ = ["mount_ui"]
