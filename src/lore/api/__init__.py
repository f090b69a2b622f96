"""Lore's HTTP API: `create_app(settings)` builds it; routes/ holds one module per area."""

from lore.api.app import create_app

__all__ = ["create_app"]
