"""`lore backup` and `lore restore` as a user runs them: real processes, real files, JSON read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from lore.wire.schemas import BackupCreated

LORE = [sys.executable, "-m", "lore"]


def lore(*args: str, data: Path, model_cache: Path, code: int = 0) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LORE_DATA_DIR": str(data),
        "LORE_MODEL_CACHE_DIR": str(model_cache),
        "LORE_PARSE_WORKERS": "1",
        "LORE_EMBED_THREADS": "1",
    }
    env.pop("LORE_DATABASE_URL", None)
    result = subprocess.run([*LORE, *args], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == code, result.stderr
    return result


def last_line(text: str) -> str:
    """The error line, after whatever the progress bar drew."""
    return text.strip().splitlines()[-1]


def test_backup_and_restore_from_the_command_line(tmp_path: Path, model_cache: Path) -> None:
    docs, first, second = tmp_path / "docs", tmp_path / "first", tmp_path / "second"
    docs.mkdir()
    (docs / "refunds.md").write_text("# Refunds\n\nRefunds reach your card within five business days.\n")
    (docs / "shipping.md").write_text("# Shipping\n\nParcels ship from Rotterdam every weekday morning.\n")
    lore("ingest", str(docs), data=first, model_cache=model_cache)
    archive = tmp_path / "lore.tar"
    made = json.loads(lore("backup", str(archive), "--json", data=first, model_cache=model_cache).stdout)
    assert made["tables"]["documents"] == 2 and made["bytes"] == archive.stat().st_size
    assert made == {"path": str(archive), **BackupCreated.model_validate(made).model_dump(mode="json")}
    assert made["name"] == "lore.tar"
    done = json.loads(lore("restore", str(archive), "--json", data=second, model_cache=model_cache).stdout)
    assert (done["tables"], done["vectors"], done["source_dialect"]) == (made["tables"], 2, "sqlite")
    found = lore("search", "when is my refund paid", "--json", data=second, model_cache=model_cache)
    assert [hit["title"] for hit in json.loads(found.stdout)["hits"]] == ["Refunds", "Shipping"]
    again = lore("restore", str(archive), data=second, model_cache=model_cache, code=2)
    assert last_line(again.stderr).startswith("error [restore_target_not_empty]")


def test_human_output_and_errors(tmp_path: Path, model_cache: Path) -> None:
    data = tmp_path / "data"
    lore("migrate", data=data, model_cache=model_cache)  # an installation, empty
    made = lore("backup", str(tmp_path / "empty.tar"), data=data, model_cache=model_cache)
    assert "backup written" in made.stderr and "no rows" in made.stderr
    (tmp_path / "junk.tar").write_bytes(b"junk" * 300)
    broken = lore(
        "restore", str(tmp_path / "junk.tar"), data=tmp_path / "other", model_cache=model_cache, code=2
    )
    assert last_line(broken.stderr).startswith("error [backup_corrupt]")
