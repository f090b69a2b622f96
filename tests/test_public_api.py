"""The library's public surface: `lore.__all__` names exactly what `lore` exports, each usable as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import lore
from lore.errors import LoreError


def test_all_is_sorted_and_complete() -> None:
    constants = [name for name in lore.__all__ if name.isupper()]
    others = [name for name in lore.__all__ if not name.isupper()]
    assert lore.__all__ == sorted(constants) + sorted(others)
    assert len(set(lore.__all__)) == len(lore.__all__)
    assert set(lore.__all__) <= set(dir(lore))


@pytest.mark.parametrize("name", lore.__all__)
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(lore, name)
    assert value is not None
    assert getattr(lore, name) is value  # the same object on every look-up


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = lore.Nothing  # type: ignore[attr-defined]


def test_the_error_tree_is_public() -> None:
    errors = [getattr(lore, name) for name in lore.__all__ if name.endswith(("Error", "Input", "Found"))]
    assert all(issubclass(error, LoreError) for error in errors)
    assert issubclass(lore.PayloadTooLarge, lore.InvalidInput)


def test_importing_lore_loads_nothing_heavy() -> None:
    """The command line imports `lore` first: the service, numpy and the database stay unloaded until used."""
    code = "import sys, lore; print(sorted(m for m in ('lore.service', 'numpy', 'sqlalchemy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_library_example_works(tmp_path: Path, model_cache: Path) -> None:
    settings = lore.Settings(_env_file=None, data_dir=tmp_path, model_cache_dir=model_cache)
    with lore.Lore.open(settings) as service:
        service.add_text(title="Refunds", text="Refunds take 5 business days.")
        hits = service.search(lore.SearchRequest(lore.DEFAULT_TENANT, "how long do refunds take"))
    assert isinstance(hits[0], lore.Hit)
    assert hits[0].chunk.title == "Refunds"
