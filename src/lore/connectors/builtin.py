"""The built-in connectors, registered through the same call a plug-in uses."""

from __future__ import annotations

from collections.abc import Mapping

from lore.config import Settings
from lore.connectors.archive import ArchiveConnector
from lore.connectors.base import Connector
from lore.connectors.folder import FolderConnector
from lore.connectors.registry import connectors
from lore.connectors.website import WebsiteConnector


@connectors.register("folder")
def folder(location: str, settings: Settings, options: Mapping[str, str]) -> Connector:
    return FolderConnector(location)


@connectors.register("website")
def website(location: str, settings: Settings, options: Mapping[str, str]) -> Connector:
    return WebsiteConnector(location, settings)


@connectors.register("archive")
def archive(location: str, settings: Settings, options: Mapping[str, str]) -> Connector:
    return ArchiveConnector(location, settings, options.get("base_url"))
