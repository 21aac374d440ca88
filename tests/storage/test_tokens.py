import hashlib
from collections.abc import AsyncIterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select

from scim_server.storage.organizations import OrganizationError
from scim_server.storage.organizations import create_organization
from scim_server.storage.tables import Organization
from scim_server.storage.tables import ScimToken
from scim_server.storage.tokens import TokenNotFound
from scim_server.storage.tokens import authenticate
from scim_server.storage.tokens import issue_token
from scim_server.storage.tokens import list_tokens
from scim_server.storage.tokens import revoke_token


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
async def acme(session: AsyncSession) -> Organization:
    organization = await create_organization(
        session, key="acme", auth0_org="org_acme", connection="db"
    )
    await session.commit()
    return organization


@pytest.fixture
async def globex(session: AsyncSession) -> Organization:
    organization = await create_organization(
        session, key="globex", auth0_org="org_globex", connection="db"
    )
    await session.commit()
    return organization


pytestmark = pytest.mark.anyio


def later(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


async def test_issue_token_returns_a_prefixed_secret_and_stores_only_its_hash(
    session: AsyncSession, acme: Organization
) -> None:
    record, secret = await issue_token(session, org=acme, name="okta", expires_in=None)
    await session.commit()

    assert secret.startswith("scim_")
    assert len(secret) >= 40
    stored = (await session.scalars(select(ScimToken))).one()
    assert stored.sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {stored.id, stored.name, stored.sha256, stored.prefix}
    assert stored.prefix == secret[:10]
    assert stored.id == record.id
    assert record.id.startswith("tok_")
    assert len(record.id) == len("tok_") + 12


async def test_issue_token_gives_each_token_a_different_secret_and_id(
    session: AsyncSession, acme: Organization
) -> None:
    first, first_secret = await issue_token(session, org=acme, name="a", expires_in=None)
    second, second_secret = await issue_token(session, org=acme, name="a", expires_in=None)

    assert first_secret != second_secret
    assert first.id != second.id


async def test_issue_token_sets_the_expiry_from_the_lifetime(
    session: AsyncSession, acme: Organization
) -> None:
    record, _ = await issue_token(session, org=acme, name="okta", expires_in=timedelta(days=30))

    assert record.expires_at is not None
    assert record.expires_at - record.created_at == timedelta(days=30)


@pytest.mark.parametrize(
    ("name", "expires_in", "message"),
    [
        ("  ", None, "name"),
        ("okta", timedelta(0), "positive"),
        ("okta", timedelta(days=-1), "positive"),
    ],
)
async def test_issue_token_refuses_an_empty_name_or_a_lifetime_that_is_not_positive(
    session: AsyncSession,
    acme: Organization,
    name: str,
    expires_in: timedelta | None,
    message: str,
) -> None:
    with pytest.raises(OrganizationError, match=message):
        await issue_token(session, org=acme, name=name, expires_in=expires_in)


async def test_authenticate_returns_the_organization_of_a_valid_token(
    session: AsyncSession, acme: Organization
) -> None:
    _, secret = await issue_token(session, org=acme, name="okta", expires_in=None)
    await session.commit()

    bearer = await authenticate(session, org_key="acme", token=secret, now=later())

    assert bearer is not None
    assert bearer.organization.id == acme.id
    assert bearer.token_name == "okta"


async def test_authenticate_accepts_every_active_token_of_the_organization(
    session: AsyncSession, acme: Organization
) -> None:
    """Rotation: the old and the new token both work until the old one is revoked."""
    _, old = await issue_token(session, org=acme, name="old", expires_in=None)
    _, new = await issue_token(session, org=acme, name="new", expires_in=None)

    assert await authenticate(session, org_key="acme", token=old, now=later()) is not None
    assert await authenticate(session, org_key="acme", token=new, now=later()) is not None


async def test_authenticate_refuses_an_unknown_token(
    session: AsyncSession, acme: Organization
) -> None:
    await issue_token(session, org=acme, name="okta", expires_in=None)

    assert await authenticate(session, org_key="acme", token="scim_nope", now=later()) is None
    assert await authenticate(session, org_key="acme", token="", now=later()) is None


async def test_authenticate_refuses_a_token_of_another_organization(
    session: AsyncSession, acme: Organization, globex: Organization
) -> None:
    _, globex_secret = await issue_token(session, org=globex, name="okta", expires_in=None)

    assert await authenticate(session, org_key="acme", token=globex_secret, now=later()) is None
    assert await authenticate(session, org_key="nobody", token=globex_secret, now=later()) is None


async def test_authenticate_refuses_a_revoked_token(
    session: AsyncSession, acme: Organization
) -> None:
    record, secret = await issue_token(session, org=acme, name="okta", expires_in=None)
    await revoke_token(session, acme, record.id)
    await session.commit()

    assert await authenticate(session, org_key="acme", token=secret, now=later()) is None


async def test_authenticate_refuses_a_token_from_its_expiry_on(
    session: AsyncSession, acme: Organization
) -> None:
    record, secret = await issue_token(session, org=acme, name="okta", expires_in=timedelta(days=1))
    assert record.expires_at is not None

    before = record.expires_at - timedelta(seconds=1)
    assert await authenticate(session, org_key="acme", token=secret, now=before) is not None
    assert await authenticate(session, org_key="acme", token=secret, now=record.expires_at) is None
    assert await authenticate(session, org_key="acme", token=secret, now=later(days=2)) is None


async def test_authenticate_records_when_a_token_was_last_used(
    sessionmaker: async_sessionmaker[AsyncSession], acme: Organization
) -> None:
    async with sessionmaker() as session:
        record, secret = await issue_token(session, org=acme, name="okta", expires_in=None)
        await session.commit()
    assert record.last_used_at is None
    now = later(minutes=5)

    async with sessionmaker() as session:
        await authenticate(session, org_key="acme", token=secret, now=now)
        await session.commit()

    async with sessionmaker() as session:
        (stored,) = await list_tokens(session, acme)
    assert stored.last_used_at == now
    assert stored.created_at.tzinfo is not None


async def test_authenticate_writes_last_used_at_at_most_once_a_minute(
    session: AsyncSession, acme: Organization
) -> None:
    _, secret = await issue_token(session, org=acme, name="okta", expires_in=None)
    first_use = later(minutes=1)

    await authenticate(session, org_key="acme", token=secret, now=first_use)
    await authenticate(session, org_key="acme", token=secret, now=first_use + timedelta(seconds=59))
    (stored,) = await list_tokens(session, acme)
    assert stored.last_used_at == first_use

    await authenticate(session, org_key="acme", token=secret, now=first_use + timedelta(minutes=1))
    assert stored.last_used_at == first_use + timedelta(minutes=1)


async def test_authenticate_leaves_last_used_at_alone_when_it_refuses(
    session: AsyncSession, acme: Organization, globex: Organization
) -> None:
    _, secret = await issue_token(session, org=acme, name="okta", expires_in=None)

    await authenticate(session, org_key="globex", token=secret, now=later())

    (stored,) = await list_tokens(session, acme)
    assert stored.last_used_at is None


async def test_list_tokens_shows_only_the_organizations_own_tokens_oldest_first(
    session: AsyncSession, acme: Organization, globex: Organization
) -> None:
    first, _ = await issue_token(session, org=acme, name="first", expires_in=None)
    await issue_token(session, org=globex, name="other", expires_in=None)
    second, _ = await issue_token(session, org=acme, name="second", expires_in=None)

    assert [t.id for t in await list_tokens(session, acme)] == [first.id, second.id]


async def test_list_tokens_keeps_revoked_tokens(session: AsyncSession, acme: Organization) -> None:
    record, _ = await issue_token(session, org=acme, name="okta", expires_in=None)
    await revoke_token(session, acme, record.id)

    (listed,) = await list_tokens(session, acme)
    assert listed.revoked_at is not None


async def test_revoke_token_keeps_the_first_revocation_time(
    session: AsyncSession, acme: Organization
) -> None:
    record, _ = await issue_token(session, org=acme, name="okta", expires_in=None)
    first = await revoke_token(session, acme, record.id)
    revoked_at = first.revoked_at

    again = await revoke_token(session, acme, record.id)

    assert revoked_at is not None
    assert again.revoked_at == revoked_at


async def test_revoke_token_refuses_an_unknown_id(
    session: AsyncSession, acme: Organization
) -> None:
    with pytest.raises(TokenNotFound, match="tok_missing"):
        await revoke_token(session, acme, "tok_missing")


async def test_revoke_token_cannot_revoke_another_organizations_token(
    session: AsyncSession, acme: Organization, globex: Organization
) -> None:
    record, secret = await issue_token(session, org=globex, name="okta", expires_in=None)

    with pytest.raises(TokenNotFound):
        await revoke_token(session, acme, record.id)

    assert await authenticate(session, org_key="globex", token=secret, now=later()) is not None
