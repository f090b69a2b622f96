"""`lore events import|export` and `lore analytics search` as real processes (on SQLite: the store's side runs
on both stores in test_event_store.py): an import reports each bad row by its line and is idempotent, an export
of client events imports again."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lore.backends.store.database import Database
from lore.config import Settings
from lore.registry import create_store
from tests.cli.conftest import run
from tests.intelligence.conftest import OTHER, TENANT, click, search, write


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "LORE_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def db(env: dict[str, str]) -> Iterator[Database]:
    settings = Settings(
        _env_file=None, data_dir=env["LORE_DATA_DIR"], database_url=env.get("LORE_DATABASE_URL")
    )
    store = create_store(settings)
    store.migrate()
    store.tenants.ensure_default()
    store.tenants.create(OTHER)
    yield store
    store.close()


def test_an_import_reports_bad_rows_by_line_and_adds_nothing_the_second_time(
    db: Database, env: dict[str, str], tmp_path: Path
) -> None:
    doc = write(db, "Refunds take five days.").id
    rows = [
        "event_id,kind,at,user_id,document_id,value,data",
        f"e1,view,2026-01-05T10:00:00Z,customer-1,{doc},,",
        f"e2,rating,,customer-1,{doc},4,",
        f"e3,rating,,customer-1,{doc},9,",  # line 4: a rating is 1 to 5
        f"e4,view,yesterday,,{doc},,",  # line 5: not a time
        f'e5,resolved,,,{doc},,"{{""ticket_id"": ""T-7""}}"',
        "e6,view,,,no-such-document,,",  # line 7: no such document
    ]
    path = tmp_path / "events.csv"
    path.write_text("\n".join(rows) + "\n")

    first = run("events", "import", str(path), "--json", env=env, check=False)
    assert first.returncode == 1, first.stderr
    assert json.loads(first.stdout) == {"rows": 6, "accepted": 3, "duplicates": 0, "refused": 3}
    refused = [line.split(":")[0] for line in first.stderr.splitlines() if line.startswith("line ")]
    assert refused == ["line 4", "line 5", "line 7"]
    assert "line 7: not_found" in first.stderr and "line 4: invalid_event" in first.stderr
    assert "6 rows read" in first.stderr  # progress

    second = run("events", "import", str(path), "--json", env=env, check=False)
    assert json.loads(second.stdout) == {"rows": 6, "accepted": 0, "duplicates": 3, "refused": 3}
    stored = {e.event_id: e for e in db.events.stream(TENANT)}
    assert sorted(stored) == ["e1", "e2", "e5"]
    assert (stored["e1"].user_id, stored["e1"].at.isoformat()) == ("customer-1", "2026-01-05T10:00:00+00:00")
    assert (stored["e2"].value, stored["e5"].data, stored["e5"].collection) == (
        4,
        {"ticket_id": "T-7"},
        "help",
    )
    assert list(db.events.stream(OTHER)) == []

    exported = run("events", "export", env=env).stdout
    assert exported.splitlines()[0].startswith("event_id,kind,at,user_id,document_id")
    (tmp_path / "exported.csv").write_text(exported)
    again = run("events", "import", str(tmp_path / "exported.csv"), "--json", env=env)
    assert json.loads(again.stdout) == {"rows": 3, "accepted": 0, "duplicates": 3, "refused": 0}
    lines = run("events", "export", "--kind", "rating", "--json", env=env).stdout.splitlines()
    assert [json.loads(line)["event_id"] for line in lines] == ["e2"]


def test_a_file_without_an_events_header_or_for_no_tenant_is_refused_whole(
    db: Database, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text("id,type\n1,view\n")
    refused = run("events", "import", str(path), env=env, check=False)
    assert refused.returncode == 2 and "error [invalid_input]" in refused.stderr
    path.write_text("event_id,kind\n")
    unknown = run("events", "import", str(path), "--tenant", "nobody", env=env, check=False)
    assert unknown.returncode == 2 and "error [not_found]" in unknown.stderr


def test_search_analytics_print_what_the_api_returns(db: Database, env: dict[str, str]) -> None:
    db.events.append(
        [search("s1", "refunds", 3), search("s2", "Refunds", 3), search("s3", "gift", 0), click("s1", 2)]
    )
    report = json.loads(run("analytics", "search", "--min-searches", "1", "--json", env=env).stdout)
    assert (report["searches"], report["clicked"]) == (3, 1)
    assert [(q["query"], q["searches"], q["clicked"]) for q in report["top_queries"]] == [
        ("refunds", 2, 1),
        ("gift", 1, 0),
    ]
    assert report["ctr_by_rank"][1] == {"rank": 2, "impressions": 2, "clicks": 1, "ctr": 0.5}
    table = run("analytics", "search", env=env).stdout
    assert "3 searches, 1 followed by a click" in table and "click-through by rank" in table
