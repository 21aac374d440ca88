from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from scim_server.storage.organizations import OrganizationError
from scim_server.storage.organizations import OrganizationExists
from scim_server.storage.organizations import OrganizationNotFound
from scim_server.storage.organizations import create_organization
from scim_server.storage.organizations import get_organization
from scim_server.storage.organizations import list_organizations


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


pytestmark = pytest.mark.anyio


async def test_create_organization_stores_every_field(session: AsyncSession) -> None:
    created = await create_organization(
        session,
        key="acme",
        auth0_org="org_123",
        connection="Username-Password-Authentication",
        identity_mode="link",
        profile="okta",
        display_name="Acme Corp",
    )
    await session.commit()

    found = await get_organization(session, "acme")
    assert found.id == created.id is not None
    assert (found.auth0_org, found.connection, found.identity_mode, found.profile) == (
        "org_123",
        "Username-Password-Authentication",
        "link",
        "okta",
    )
    assert found.display_name == "Acme Corp"
    assert found.created_at.tzinfo is not None


async def test_create_organization_defaults_to_create_mode_and_generic_profile(
    session: AsyncSession,
) -> None:
    organization = await create_organization(
        session, key="acme", auth0_org="org_123", connection="db"
    )

    assert (organization.identity_mode, organization.profile) == ("create", "generic")


@pytest.mark.parametrize(
    "key",
    ["Acme", "acme_1", "-acme", "", "a" * 51, "acme corp", "acmé", "acme/x", "acme\n"],
)
async def test_create_organization_refuses_a_key_that_cannot_be_a_url_segment(
    session: AsyncSession, key: str
) -> None:
    with pytest.raises(OrganizationError, match="Invalid organization key"):
        await create_organization(session, key=key, auth0_org="org_1", connection="db")


@pytest.mark.parametrize("key", ["a", "acme", "acme-2", "0day", "a" * 50])
async def test_create_organization_accepts_lowercase_digits_and_dashes(
    session: AsyncSession, key: str
) -> None:
    organization = await create_organization(session, key=key, auth0_org="org_1", connection="db")

    assert organization.key == key


async def test_create_organization_refuses_an_unknown_identity_mode(session: AsyncSession) -> None:
    with pytest.raises(OrganizationError, match="identity mode"):
        await create_organization(
            session, key="acme", auth0_org="org_1", connection="db", identity_mode="sync"
        )


@pytest.mark.parametrize(("auth0_org", "connection"), [("", "db"), ("org_1", "  ")])
async def test_create_organization_refuses_an_empty_auth0_org_or_connection(
    session: AsyncSession, auth0_org: str, connection: str
) -> None:
    with pytest.raises(OrganizationError, match="must not be empty"):
        await create_organization(session, key="acme", auth0_org=auth0_org, connection=connection)


async def test_create_organization_refuses_a_duplicate_key(session: AsyncSession) -> None:
    await create_organization(session, key="acme", auth0_org="org_1", connection="db")
    await session.commit()

    with pytest.raises(OrganizationExists, match="'acme' already exists"):
        await create_organization(session, key="acme", auth0_org="org_2", connection="db")


async def test_get_organization_raises_a_lookup_error_for_an_unknown_key(
    session: AsyncSession,
) -> None:
    with pytest.raises(OrganizationNotFound) as raised:
        await get_organization(session, "nobody")

    assert isinstance(raised.value, LookupError)
    assert isinstance(raised.value, OrganizationError)


async def test_list_organizations_orders_by_key(session: AsyncSession) -> None:
    for key in ("zeta", "acme", "mid"):
        await create_organization(session, key=key, auth0_org=f"org_{key}", connection="db")
    await session.commit()

    assert [o.key for o in await list_organizations(session)] == ["acme", "mid", "zeta"]


async def test_list_organizations_is_empty_without_organizations(session: AsyncSession) -> None:
    assert list(await list_organizations(session)) == []
