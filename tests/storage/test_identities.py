"""Finding a person by any identity key (``storage/identities.py``): each key, case rules,
tombstones, collisions, and never another organization's user."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from scim2_server.utils import load_default_provider
from sqlalchemy import insert
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scim_server.storage.database import Database
from scim_server.storage.engine import create_sessionmaker
from scim_server.storage.identities import KnownIdentity
from scim_server.storage.identities import find_identities
from scim_server.storage.identities import users_known_by
from scim_server.storage.resources import SqlScimStorage
from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import ScimResource
from tests.helpers.databases import add_organization

pytestmark = pytest.mark.anyio

PROVIDER = load_default_provider()
USER_ONLY = "((resource_type)::text = 'User'::text))"
"""The end of a PostgreSQL index condition that selects every user of an organization."""
USER_TYPE = PROVIDER.resource_types[0]


@dataclass
class Directory:
    database: Database
    acme: int
    globex: int

    async def user(self, org: int, user_name: str, email: str, external_id: str) -> str:
        model: Any = PROVIDER.model_for("User")
        async with self.database.session() as session:
            created = await SqlScimStorage(session, org_id=org, provider=PROVIDER).create(
                USER_TYPE,
                model(
                    user_name=user_name,
                    external_id=external_id,
                    emails=[{"value": email, "primary": True}],
                ),
            )
            await session.commit()
        return str(created.id)

    async def link(self, org: int, scim_id: str, auth0_user_id: str) -> None:
        async with self.database.session() as session:
            session.add(IdentityLink(org_id=org, scim_id=scim_id, auth0_user_id=auth0_user_id))
            await session.commit()

    async def delete(self, org: int, scim_id: str) -> None:
        async with self.database.session() as session:
            await SqlScimStorage(session, org_id=org, provider=PROVIDER).delete(USER_TYPE, scim_id)
            await session.commit()

    async def find(self, org: int, key: str) -> list[KnownIdentity]:
        async with self.database.session() as session:
            return await find_identities(session, org_id=org, key=key)


@pytest.fixture
async def directory(engine: AsyncEngine) -> AsyncIterator[Directory]:
    database = Database(engine=engine, sessions=create_sessionmaker(engine))
    yield Directory(
        database,
        await add_organization(database, "acme"),
        await add_organization(database, "globex"),
    )


@pytest.mark.parametrize(
    "key", ["SCIM_ID", "00uJD", "JDoe", "jdoe", "JDoe@Acme.test", "jdoe@acme.test", "auth0|jd"]
)
async def test_every_key_finds_the_user(directory: Directory, key: str) -> None:
    jdoe = await directory.user(directory.acme, "JDoe", "JDoe@Acme.test", "00uJD")
    await directory.user(directory.acme, "ann", "ann@acme.test", "00uAN")
    await directory.link(directory.acme, jdoe, "auth0|jd")

    [found] = await directory.find(directory.acme, jdoe if key == "SCIM_ID" else key)

    assert found == KnownIdentity(
        scim_id=jdoe,
        external_id="00uJD",
        user_name="JDoe",
        email="jdoe@acme.test",
        auth0_user_id="auth0|jd",
        deleted=False,
    )


async def test_external_ids_compare_exactly(directory: Directory) -> None:
    """Okta's ``00u…`` ids are case-sensitive, as SCIM's externalId is (RFC 7643 §3.1)."""
    await directory.user(directory.acme, "jdoe", "jdoe@acme.test", "00uJD")

    assert await directory.find(directory.acme, "00ujd") == []


async def test_a_deleted_user_is_found_as_a_tombstone(directory: Directory) -> None:
    jdoe = await directory.user(directory.acme, "jdoe", "jdoe@acme.test", "00uJD")
    await directory.delete(directory.acme, jdoe)

    [found] = await directory.find(directory.acme, "jdoe@acme.test")

    assert (found.scim_id, found.deleted, found.auth0_user_id) == (jdoe, True, None)


async def test_colliding_keys_find_every_user_oldest_first(directory: Directory) -> None:
    """A userName that is another user's email: both are candidates, support picks."""
    first = await directory.user(directory.acme, "jdoe@acme.test", "john@acme.test", "00u1")
    second = await directory.user(directory.acme, "jane", "jdoe@acme.test", "00u2")

    found = await directory.find(directory.acme, "jdoe@acme.test")

    assert [identity.scim_id for identity in found] == [first, second]


async def test_another_organizations_user_is_never_found(directory: Directory) -> None:
    theirs = await directory.user(directory.globex, "jdoe", "jdoe@acme.test", "00uJD")
    await directory.link(directory.globex, theirs, "auth0|jd")

    for key in (theirs, "00uJD", "jdoe", "jdoe@acme.test", "auth0|jd"):
        assert await directory.find(directory.acme, key) == []
    assert len(await directory.find(directory.globex, "auth0|jd")) == 1


async def seed_users(directory: Directory, people: int) -> None:
    """Store users and their links as rows (as the storage writes them), then ANALYZE."""
    async with directory.database.session() as session:
        for org, count in ((directory.acme, people), (directory.globex, people // 2)):
            await session.execute(
                insert(ScimResource),
                [
                    {
                        "id": f"{org}-{n:08d}",
                        "org_id": org,
                        "resource_type": "User",
                        "document": {"userName": f"user{n}"},
                        "search_document": {},
                        "user_name_key": f"user{n}",
                        "external_id": f"00u{n}",
                        "email_key": f"user{n}@acme.test",
                    }
                    for n in range(count)
                ],
            )
            await session.execute(
                insert(IdentityLink),
                [
                    {
                        "org_id": org,
                        "scim_id": f"{org}-{n:08d}",
                        "auth0_user_id": f"auth0|{org}-{n}",
                        "desired": {},
                        "applied": {},
                    }
                    for n in range(count)
                ],
            )
        await session.commit()
    async with directory.database.engine.connect() as connection:
        await connection.execute(text("ANALYZE"))
        await connection.commit()


@pytest.mark.parametrize("key", ["SCIM_ID", "00u17", "USER17", "User17@Acme.test", "auth0|A-17"])
async def test_every_key_is_an_index_search_never_a_scan_of_the_users(
    directory: Directory, key: str
) -> None:
    """EXPLAIN: one index search per key, never a walk over the organization's users."""
    await seed_users(directory, 2_000)
    key = key.replace("SCIM_ID", f"{directory.acme}-00000017").replace("A-", f"{directory.acme}-")

    async with directory.database.session() as session:
        connection = await session.connection()
        sql = users_known_by(org_id=directory.acme, key=key).compile(
            dialect=connection.dialect, compile_kwargs={"literal_binds": True}
        )
        if connection.dialect.name == "sqlite":
            rows = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            plan = "\n".join(str(row[-1]) for row in rows)
        else:
            rows = await connection.exec_driver_sql(f"EXPLAIN {sql}")
            plan = "\n".join(str(row[0]) for row in rows)
        [found] = await find_identities(session, org_id=directory.acme, key=key)

    assert found.user_name == "user17"
    walks = [
        line
        for line in plan.splitlines()
        if line.strip().startswith("SCAN")
        or "Seq Scan" in line
        or line.rstrip().endswith("(org_id=? AND resource_type=?)")
        or line.strip() == f"Index Cond: ((org_id = {directory.acme}) AND {USER_ONLY}"
    ]
    assert walks == [], plan
