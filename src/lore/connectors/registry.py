"""Connector kinds by name: the built-ins (`lore.connectors.builtin`) and those installed distributions add
through the entry-point group `lore.connectors`, each a factory `(location, settings, options) -> Connector`.

    >>> @connectors.register("notion")
    ... def notion(location: str, settings: Settings, options: Mapping[str, str]) -> Connector: ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from lore.config import Settings
from lore.connectors.base import Connector
from lore.plugins import Registry

ConnectorFactory = Callable[[str, Settings, Mapping[str, str]], Connector]

connectors: Registry[ConnectorFactory] = Registry(
    "connector", "lore.connectors", builtins="lore.connectors.builtin"
)


def kind_for(location: str) -> str:
    """The kind a location names on its own: an http(s) URL a website, a .zip an archive, else a folder."""
    if location.lower().startswith(("http://", "https://")):
        return "website"
    if Path(location).suffix.lower() == ".zip":
        return "archive"
    return "folder"


def open_connector(
    kind: str, location: str, settings: Settings, options: Mapping[str, str] | None = None
) -> Connector:
    return connectors.get(kind)(location, settings, options or {})
