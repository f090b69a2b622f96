"""`lore usage` on SQLite and PostgreSQL: the counters a server wrote, per tenant, day and key, as the API's
`UsageOut` with --json and as a table without."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from lore.backends.store.usage_records import UsageKey
from lore.config import Settings
from lore.registry import create_store
from tests.cli.conftest import run

TODAY = datetime.now(UTC).date()


def record(env: dict[str, str]) -> None:
    settings = Settings(
        _env_file=None, data_dir=env["LORE_DATA_DIR"], database_url=env.get("LORE_DATABASE_URL")
    )
    db = create_store(settings)
    db.migrate()
    yesterday = str(TODAY - timedelta(days=1))
    db.usage.add(
        {
            UsageKey("acme", str(TODAY), "k1", "requests"): 5,
            UsageKey("acme", str(TODAY), "k1", "tokens_in:openai"): 120,
            UsageKey("acme", str(TODAY), "k1", "tokens_in:anthropic"): 30,
            UsageKey("acme", yesterday, "", "requests"): 2,
            UsageKey("globex", str(TODAY), "k9", "searches"): 1,
            UsageKey("acme", str(TODAY - timedelta(days=90)), "k1", "requests"): 1000,  # outside the window
        }
    )
    with db.read() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM usage")).scalar() == 6
    db.close()


def test_usage_prints_each_tenants_report(store_env: dict[str, str]) -> None:
    record(store_env)

    lines = run("usage", "--json", env=store_env).stdout.splitlines()

    reports = [json.loads(line) for line in lines]
    assert [report["tenant_id"] for report in reports] == ["acme", "globex"]
    acme = reports[0]
    assert acme["until"] == str(TODAY) and acme["since"] == str(TODAY - timedelta(days=29))
    assert [(day["day"], day["key_id"]) for day in acme["days"]] == [
        (str(TODAY - timedelta(days=1)), None),
        (str(TODAY), "k1"),
    ]
    assert acme["totals"] == {"requests": 7, "tokens_in:anthropic": 30, "tokens_in:openai": 120}


def test_usage_narrows_to_a_tenant_a_key_and_days(store_env: dict[str, str]) -> None:
    record(store_env)
    since = str(TODAY - timedelta(days=100))
    out = run("usage", "--tenant", "acme", "--key", "k1", "--since", since, "--json", env=store_env).stdout
    (report,) = [json.loads(line) for line in out.splitlines()]
    assert report["key_id"] == "k1" and report["totals"]["requests"] == 1005

    table = run("usage", "--tenant", "acme", env={**store_env, "COLUMNS": "200"}).stdout
    assert "acme" in table and "150 (anthropic 30, openai 120)" in table

    failed = run("usage", "--since", "2026-02-01", "--until", "2026-01-01", env=store_env, check=False)
    assert failed.returncode == 2 and "invalid_input" in failed.stderr
