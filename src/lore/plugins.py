"""One registry per kind of plug-in: a name -> plug-in table that built-ins and third parties fill alike.

    >>> @stores.register("sqlite")
    ... def sqlite_store(settings: Settings) -> Store: ...
    >>> stores.get("sqlite")(settings)

A name nobody registered in the process is looked up in the registry's entry-point group, so an installed
distribution adds a plug-in without Lore importing it; see docs/plugins.md for the groups.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar

from lore.errors import InvalidInput

T = TypeVar("T")


class Registry(Generic[T]):
    """The plug-ins of one kind: `kind` names them in errors, `group` is their entry-point group, and
    `builtins` (a module that registers the built-in ones) is imported on the first lookup."""

    def __init__(self, kind: str, group: str, *, builtins: str | None = None) -> None:
        self.kind = kind
        self.group = group
        self._builtins = builtins
        self._registered: dict[str, T] = {}

    def add(self, name: str, plugin: T) -> T:
        self._registered[name] = plugin
        return plugin

    def register(self, name: str) -> Callable[[T], T]:
        """`@registry.register("name")`: the decorated plug-in is registered under `name`."""
        return lambda plugin: self.add(name, plugin)

    def remove(self, name: str) -> None:
        self._registered.pop(name, None)

    def get(self, name: str) -> T:
        """The plug-in registered as `name`, else the one its entry point names; `InvalidInput` if neither."""
        self._import_builtins()
        if name in self._registered:
            return self._registered[name]
        entry = next((entry for entry in self._entry_points() if entry.name == name), None)
        if entry is None:
            raise InvalidInput(f"unknown {self.kind} {name!r}", details={"known": self.names()})
        plugin: T = entry.load()
        return plugin

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def names(self) -> list[str]:
        """Every known name, registered or installed, sorted."""
        self._import_builtins()
        return sorted({*self._registered, *(entry.name for entry in self._entry_points())})

    def items(self) -> Iterator[tuple[str, T]]:
        """(name, plug-in) pairs: the registered ones first, so the built-ins never load a third party's code."""
        self._import_builtins()
        yield from list(self._registered.items())
        for entry in self._entry_points():
            if entry.name not in self._registered:
                yield entry.name, entry.load()

    def _entry_points(self) -> tuple[EntryPoint, ...]:
        return tuple(entry_points(group=self.group))

    def _import_builtins(self) -> None:
        if self._builtins is not None:
            importlib.import_module(
                self._builtins
            )  # registers them; cached in sys.modules after the first time
