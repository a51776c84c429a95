"""A throwaway PostgreSQL server for the tests, started by the tests themselves.

`TIERLINE_TEST_BACKEND=postgresql` runs every test that opens the database through the
`settings` fixture on PostgreSQL instead of SQLite: the first such test starts a server
(Debian's PostgreSQL 15, `initdb` and `pg_ctl` run as the unprivileged `postgres` user when
the tests run as root, since `initdb` refuses root) in a temporary folder, on 127.0.0.1 and
a free port, and migrates a template database once; each test then gets a fresh database
copied from it (`CREATE DATABASE … TEMPLATE`, a few milliseconds). The server is stopped
and its folder deleted when the session ends.

Tests that exercise PostgreSQL itself (tests/test_postgres.py) use `pg_url` in either run.
Where the server cannot start, they fail under CI (`CI=true`) and are skipped otherwise,
with the reason; a `TIERLINE_TEST_BACKEND=postgresql` run always fails then.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest


def _pg_bin() -> Path:
    """Debian's PostgreSQL 15 server, else the newest installed (TIERLINE_TEST_PG_BIN
    names another folder of `initdb`, `pg_ctl` and `psql`)."""
    given = os.environ.get("TIERLINE_TEST_PG_BIN")
    if given:
        return Path(given)

    def preference(initdb: Path) -> tuple[bool, int]:
        version = initdb.parent.parent.name
        return version != "15", -int(version) if version.isdigit() else 0

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=preference)
    return found[0].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
BACKEND = os.environ.get("TIERLINE_TEST_BACKEND", "sqlite").lower()
TEMPLATE = "tierline_template"


def on_postgres() -> bool:
    return BACKEND in ("postgresql", "postgres", "pg")


class PgServer:
    """One server in a temporary folder; `database()` hands out fresh databases."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable  # with disk syncs (benchmarks), or without (tests)
        self.folder = Path(tempfile.mkdtemp(prefix="tierline-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._free: list[str] = []  # migrated databases no test uses now
        self._lent: list[str] = []  # those the running test was given
        self._user = _unprivileged_user()
        if self._user is not None:
            uid, gid = self._user
            os.chown(self.folder, uid, gid)

    @property
    def base_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self._user is not None:
            command = ["runuser", "-u", pwd.getpwuid(self._user[0]).pw_name, "--", *command]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.folder
        )

    def start(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(
                f"no PostgreSQL server binaries in {PG_BIN} (apt install postgresql)"
            )
        init = self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.strip()[-500:]}")
        # The tests' own server: nothing in it must outlive a power cut, so no disk syncs.
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder}"
            " -c max_connections=200 -c shared_buffers=32MB"
        )
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        started = self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
            timeout=90,
        )
        if started.returncode != 0:
            log = (self.folder / "server.log").read_text(errors="replace")[-800:]
            raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()} {log}")
        self.sql(f"CREATE DATABASE {TEMPLATE}")
        # In a thread of its own: the first test to need the server may be running in an
        # event loop already.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _migrate(self.url(TEMPLATE))).result()
        # A process's own files beside a server database (the Telegram sending journal):
        # in a folder of the session's, not the working directory.
        self.state = Path(tempfile.mkdtemp(prefix="tierline-state-"))
        os.environ["TIERLINE_STATE_DIR"] = str(self.state)

    def sql(self, statement: str, *, database: str = "postgres") -> None:
        done = subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                statement,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")

    def database(self, *, migrated: bool = True) -> str:
        """The URL of an empty database (with the schema when `migrated`) for this test:
        one a test before used, emptied (~20 ms), or a new copy of the template (~0.5-1 s
        on a busy machine, mostly PostgreSQL copying the template)."""
        if migrated and self._free:
            name = self._free.pop()
            self.sql(_EMPTY, database=name)
        else:
            name = f"t{os.getpid()}_{next(self._names)}"
            template = TEMPLATE if migrated else "template0"
            self.sql(f"CREATE DATABASE {name} TEMPLATE {template}")
        if migrated:
            self._lent.append(name)
        return self.url(name)

    def take_back(self) -> None:
        """The test is over: its databases may be emptied and lent again."""
        self._free.extend(self._lent)
        self._lent.clear()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
        state = getattr(self, "state", None)
        if state is not None:
            shutil.rmtree(state, ignore_errors=True)

    def query(self, url: str, sql: str) -> list[tuple[object, ...]]:
        """Rows of `sql` run on the database at `url`, on a connection of its own (in a
        thread: the caller may be inside an event loop)."""

        async def run() -> list[tuple[object, ...]]:
            import asyncpg

            conn = await asyncpg.connect(url)
            try:
                return [tuple(row) for row in await conn.fetch(sql)]
            finally:
                await conn.close()

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, run()).result()


# Empties a database a test used: every row (newest tables first: a row is deleted before
# those it refers to), identities from 1 again, and nothing a test added to the schema.
_EMPTY = """
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT tgname, tgrelid::regclass AS rel FROM pg_trigger WHERE NOT tgisinternal LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.rel);
    END LOOP;
    FOR r IN SELECT c.relname FROM pg_class c WHERE c.relkind = 'r'
            AND c.relnamespace = 'public'::regnamespace AND c.relname <> 'schema_version'
            ORDER BY c.oid DESC LOOP
        EXECUTE format('DELETE FROM %I', r.relname);
    END LOOP;
    FOR r IN SELECT pg_get_serial_sequence(format('%I', table_name), column_name) AS seq
            FROM information_schema.columns
            WHERE table_schema = 'public' AND is_identity = 'YES' LOOP
        EXECUTE format('ALTER SEQUENCE %s RESTART', r.seq);
    END LOOP;
END $$
"""


async def _migrate(url: str) -> None:
    from bot.storage.database import Database

    db = await Database.open(url)
    await db.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _unprivileged_user() -> tuple[int, int] | None:
    """Who runs the server when the tests run as root (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


_server: PgServer | None = None
_failure: str | None = None


def pg_server() -> PgServer:
    """The session's server, started on first use."""
    global _server, _failure
    if _server is None and _failure is None:
        server = PgServer()
        try:
            server.start()
        except Exception as exc:
            server.stop()
            _failure = str(exc)
        else:
            _server = server
    if _server is None:
        missing(f"PostgreSQL could not start: {_failure}", required=on_postgres())
    return _server


def missing(message: str, *, required: bool = False) -> NoReturn:
    """Something a test needs from the machine is not there: a failure under CI (`.ci/run`
    installs it) or where the run requires it, a skip on a developer's machine."""
    if required or os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def pg_url() -> str:
    """A fresh, migrated PostgreSQL database for this test (whatever the backend)."""
    return pg_server().database()


@pytest.fixture
def pg() -> PgServer:
    """The session's PostgreSQL server (for tests that make databases of their own)."""
    return pg_server()


# Fixtures that open the backend under test, and helpers whose presence in a test module
# means its tests make engines of their own on it (tests/tier_journeys.py `engine_with`).
DATABASE_FIXTURES = frozenset({"settings", "db", "engine", "chat", "pg_url", "pg"})
DATABASE_HELPERS = ("engine_with", "database_location", "scenario_database")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that open a database `database` (the PostgreSQL run of CI is
    `-m database`); on PostgreSQL, leave out those that test SQLite's own machinery, and
    on SQLite those that need a server database (`postgres_only`: webhook replicas)."""
    for item in items:
        module = getattr(item, "module", None)
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())) or any(
            hasattr(module, name) for name in DATABASE_HELPERS
        ):
            item.add_marker(pytest.mark.database)
    other = "sqlite_only" if on_postgres() else "postgres_only"
    kept = [i for i in items if i.get_closest_marker(other) is None]
    left_out = [i for i in items if i.get_closest_marker(other) is not None]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield  # the test's fixtures (and the databases they opened) are closed by now
    _named.clear()
    if _server is not None:
        _server.take_back()


def pytest_report_header() -> str:
    return f"tierline test backend: {'postgresql' if on_postgres() else 'sqlite'}"


def pytest_sessionfinish() -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None


def run_sql(location: Path | str, sql: str) -> list[tuple[object, ...]]:
    """Run `sql` on a test's database from outside the process's `Database` (as another
    program would, e.g. to break it on purpose), whatever the backend."""
    if isinstance(location, str):
        return list(pg_server().query(location, sql))
    # A running bot commits every few ms. A statement that reads and then writes (ALTER
    # TABLE) would find its snapshot outdated by then and fail at once ("database is
    # locked", no waiting in WAL mode): take the write lock first, waiting as a test may.
    conn = sqlite3.connect(location, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        rows = list(conn.execute(sql).fetchall())
        conn.execute("COMMIT")
        return rows
    finally:
        conn.close()


async def run_sql_beside(location: Path | str, sql: str) -> list[tuple[object, ...]]:
    """`run_sql` from a test whose engine runs on the same event loop: in a thread. The
    engine holds the write lock across an await (it begins a batch in the writer's thread,
    applies it on the loop's thread, commits in the writer's), so a statement that waits
    for that lock on the loop's own thread would wait for a commit that cannot come until
    it gives up ("database is locked" after the busy timeout)."""
    return await asyncio.to_thread(run_sql, location, sql)


def scenario_database() -> str | None:
    """The database a scenario plays on: on PostgreSQL a fresh one, on SQLite None (the
    runner makes a temporary file of its own)."""
    return pg_server().database() if on_postgres() else None


_named: dict[tuple[str, str], str] = {}  # this test's databases on PostgreSQL, by file name


def database_location(tmp_path: Path, name: str = "tierline.db") -> Path | str:
    """Where a test's database `name` lives on the backend under test: the file in the
    test's folder, or on PostgreSQL a fresh database (the same one for the same name
    within a test)."""
    if not on_postgres():
        return tmp_path / name
    key = (str(tmp_path), name)
    if key not in _named:
        _named[key] = pg_server().database()
    return _named[key]


__all__ = [
    "PgServer",
    "database_location",
    "on_postgres",
    "pg_server",
    "run_sql",
    "scenario_database",
]
