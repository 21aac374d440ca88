"""``/healthz`` says the process lives; ``/readyz`` says the database answers and is migrated."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from scim_server.config import Settings
from scim_server.storage.database import Database
from scim_server.storage.migrate import alembic_config
from scim_server.storage.migrate import head_revision
from scim_server.storage.migrate import migrate
from scim_server.web.app import create_app
from tests.helpers.databases import create_schema

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def served(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    app = create_app(Settings(SCIM_DATABASE_URL=database_url))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, app.state.tenancy.database
    finally:
        await app.state.tenancy.close()


async def test_healthz_answers_without_looking_at_the_database(database_url: str) -> None:
    async with served(database_url) as (client, _):  # the database has no table at all
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_once_the_database_is_migrated(database_url: str) -> None:
    await anyio.to_thread.run_sync(migrate, database_url)
    async with served(database_url) as (client, _):
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "schema": head_revision()}


async def test_readyz_refuses_a_database_that_was_never_migrated(database_url: str) -> None:
    async with served(database_url) as (client, database):
        await create_schema(database)  # the tables, but no Alembic revision
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reason": "database schema missing: run scim-server migrate",
    }


async def test_readyz_refuses_a_database_at_an_older_revision(database_url: str) -> None:
    """A replica of a new version waits until ``scim-server migrate`` has upgraded the schema."""
    await anyio.to_thread.run_sync(migrate, database_url)
    head = ScriptDirectory.from_config(alembic_config()).get_revision(head_revision())
    assert head is not None
    previous = head.down_revision
    assert isinstance(previous, str)
    async with served(database_url) as (client, database):
        async with database.engine.begin() as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": previous}
            )
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["reason"] == (
        f"database schema at revision {previous}, this version needs {head_revision()}: "
        "run scim-server migrate"
    )


def unreadable(database_url: str) -> str:
    """Return the URL of a database that cannot be read, on the same server.

    On SQLite a file that is not a database: a file that cannot be opened would leave aiosqlite's
    thread answering after the test's event loop closed.
    """
    if database_url.startswith("sqlite"):
        Path(database_url.split(":///", 1)[1]).write_bytes(b"secret, not a database" * 100)
        return database_url
    return database_url.rsplit("/", 1)[0] + "/secret_name_missing"


async def test_readyz_reports_an_unreadable_database_without_naming_it(
    database_url: str,
) -> None:
    async with served(unreadable(database_url)) as (client, _):
        response = await client.get("/readyz")
        alive = await client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["reason"].startswith("database unreachable (")
    assert "secret" not in response.text and "127.0.0.1" not in response.text
    assert "test.db" not in response.text
    assert alive.status_code == 200
