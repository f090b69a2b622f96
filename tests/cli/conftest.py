"""The `lore` command run as a real process, with its data dir (and, where asked, PostgreSQL database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

LORE = [sys.executable, "-m", "lore"]


def run(
    *args: str, env: dict[str, str], check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*LORE, *args], capture_output=True, text=True, env=env, timeout=300, check=False, cwd=cwd
    )
    if check and result.returncode != 0:
        raise AssertionError(f"lore {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


@pytest.fixture
def env(tmp_path: Path, model_cache: Path) -> dict[str, str]:
    return {**os.environ, "LORE_DATA_DIR": str(tmp_path / "data"), "LORE_MODEL_CACHE_DIR": str(model_cache)}


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request: pytest.FixtureRequest, env: dict[str, str]) -> dict[str, str]:
    """`env` on each store: the data dir's SQLite file, or a fresh PostgreSQL database."""
    if request.param == "postgres":
        return {**env, "LORE_DATABASE_URL": request.getfixturevalue("database_url")}
    return env
