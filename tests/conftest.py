"""Fixtures shared by every test: the anyio backend and a fresh database per test.

Database tests run twice, on SQLite and on PostgreSQL. PostgreSQL is one throwaway
cluster per session (started as the ``postgres`` user, since initdb refuses root) and
one new database per test. Without the PostgreSQL binaries those tests are skipped,
unless SCIM_REQUIRE_POSTGRESQL=1 (set by .ci/run) turns that into a failure.

Nothing here keeps a connection open across tests: scim2-server's storage contract runs
each test's coroutines in an ``asyncio.Runner`` of its own, and a pooled connection made
on one event loop cannot be used from another. So the engines use ``NullPool``, and the
setup work runs in short ``asyncio.run`` calls of its own.
"""

import asyncio
import atexit
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from scim_server.storage import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from scim_server.storage.engine import create_engine
from scim_server.storage.engine import create_sessionmaker

POSTGRESQL_USER = "postgres"

# Hypothesis runs the same examples on every machine and keeps nothing between runs: its
# directory (example database, caches) is a temporary one removed at exit, so a fresh clone
# behaves like a used one; the seed is derandomized; and the "too slow" health check, which
# fails on a fresh machine while Hypothesis builds its Unicode tables, is off.
# SCIM_HYPOTHESIS_PROFILE=long explores more (random seeds, many more examples).
_hypothesis_home = tempfile.mkdtemp(prefix="scim-hypothesis-")
atexit.register(shutil.rmtree, _hypothesis_home, ignore_errors=True)
set_hypothesis_home_dir(_hypothesis_home)
settings.register_profile(
    "default",
    database=None,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    database=None,
    deadline=None,
    max_examples=2000,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("SCIM_HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class PostgresqlServer:
    """A running throwaway cluster that accepts the ``postgres`` user on 127.0.0.1 without a password."""

    port: int

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{POSTGRESQL_USER}@127.0.0.1:{self.port}/{database}"

    async def execute(self, statement: str) -> None:
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user=POSTGRESQL_USER, database="postgres"
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


def find_postgresql_bin() -> Path | None:
    """Return the directory of initdb and pg_ctl: on PATH, else Debian's versioned directory."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name)
    )
    for directory in reversed(candidates):
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_as_postgres(*command: str | Path) -> None:
    """Run a PostgreSQL tool, as the ``postgres`` user when we are root (initdb refuses root)."""
    prefix = ["runuser", "-u", POSTGRESQL_USER, "--"] if os.geteuid() == 0 else []
    result = subprocess.run(
        [*prefix, *map(str, command)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresqlServer]:
    bin_dir = find_postgresql_bin()
    if bin_dir is None:
        message = "PostgreSQL binaries (initdb, pg_ctl) not found"
        if os.environ.get("SCIM_REQUIRE_POSTGRESQL") == "1":
            pytest.fail(f"{message}, and SCIM_REQUIRE_POSTGRESQL=1", pytrace=False)
        pytest.skip(message)
    # Not under pytest's tmp_path: its parents are private to root, out of the postgres user's reach.
    base = Path(tempfile.mkdtemp(prefix="scim-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, user=POSTGRESQL_USER)
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    try:
        run_as_postgres(
            bin_dir / "initdb", "-D", data, "-U", POSTGRESQL_USER, "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions", "--locale=C",
        )  # fmt: skip
        run_as_postgres(
            bin_dir / "pg_ctl", "start", "-D", data, "-w", "-l", base / "server.log", "-o", options
        )
        try:
            yield PostgresqlServer(port=port)
        finally:
            run_as_postgres(bin_dir / "pg_ctl", "stop", "-D", data, "-m", "immediate", "-w")
    finally:
        shutil.rmtree(base, ignore_errors=True)


_database_numbers = itertools.count()

SCHEMA_TEMPLATE = "scim_schema_template"
"""A PostgreSQL database that has every table, cloned for the tests that ask for ``engine``."""


@pytest.fixture(scope="session")
def postgresql_schema_template(postgresql_server: PostgresqlServer) -> str:
    asyncio.run(postgresql_server.execute(f'CREATE DATABASE "{SCHEMA_TEMPLATE}"'))
    asyncio.run(create_tables(postgresql_server.url(SCHEMA_TEMPLATE)))
    return SCHEMA_TEMPLATE


SQLITE_FILE = "test.db"


@pytest.fixture(scope="session")
def sqlite_schema_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file that has every table, copied for the tests that ask for ``engine``."""
    path = tmp_path_factory.mktemp("template") / SQLITE_FILE
    asyncio.run(create_tables(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Return the URL of a new database, on SQLite and on PostgreSQL.

    The database has no table, unless the test also uses ``engine``: it is then a copy of a
    template that has them (a file on SQLite, a database on PostgreSQL), which is faster than
    creating them for every test.
    """
    if request.param == "sqlite":
        if "engine" in request.fixturenames:
            shutil.copyfile(
                request.getfixturevalue("sqlite_schema_template"), tmp_path / SQLITE_FILE
            )
        yield f"sqlite+aiosqlite:///{tmp_path / SQLITE_FILE}"
        return
    server: PostgresqlServer = request.getfixturevalue("postgresql_server")
    template = "template0"
    if "engine" in request.fixturenames:
        template = request.getfixturevalue("postgresql_schema_template")
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    # FILE_COPY (PostgreSQL 15+) is several times faster than the default WAL_LOG for small
    # databases, more so with fsync off.
    asyncio.run(
        server.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    )
    try:
        yield server.url(name)
    finally:
        asyncio.run(server.execute(f'DROP DATABASE "{name}" WITH (FORCE)'))


async def create_tables(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)
    finally:
        await engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[AsyncEngine]:
    """Return an engine on a new database that has every table, usable from any event loop."""
    engine = create_engine(database_url, poolclass=NullPool)
    yield engine
    asyncio.run(engine.dispose())


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)
