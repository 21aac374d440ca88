"""Open a SQL storage of one organization on a test database."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from scim2_models import ScimProvider
from sqlmodel import SQLModel

from scim_server.storage.database import Database
from scim_server.storage.resources import SqlScimStorage
from scim_server.storage.tables import Organization


async def create_schema(database: Database) -> None:
    """Create the tables on a database that has none yet."""
    async with database.engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)


async def add_organization(database: Database, key: str) -> int:
    """Store an organization and return its id."""
    async with database.session() as session:
        org = Organization(
            key=key, auth0_org=f"org_{key}", connection="Username-Password-Authentication"
        )
        session.add(org)
        await session.commit()
        assert org.id is not None
        return org.id


@asynccontextmanager
async def open_storage(
    database: Database, provider: ScimProvider, *, key: str = "acme"
) -> AsyncIterator[SqlScimStorage]:
    """Yield the storage of a new organization, its session closed afterwards."""
    org_id = await add_organization(database, key)
    async with database.session() as session:
        yield SqlScimStorage(session, org_id=org_id, provider=provider)
