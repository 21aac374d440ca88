"""Operator tokens of the admin API, in storage and through ``scim-server admin token``."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select

from scim_server.storage.operator_tokens import IssuedOperatorToken
from scim_server.storage.operator_tokens import OperatorTokenNotFound
from scim_server.storage.operator_tokens import authenticate_operator
from scim_server.storage.operator_tokens import issue_operator_token
from scim_server.storage.operator_tokens import list_operator_tokens
from scim_server.storage.operator_tokens import revoke_operator_token
from scim_server.storage.organizations import OrganizationError
from scim_server.storage.organizations import create_organization
from scim_server.storage.session import open_session
from scim_server.storage.tables import OperatorToken
from scim_server.storage.tables import Organization
from scim_server.storage.tokens import issue_token
from tests.test_cli import USER_DB
from tests.test_cli import Cli
from tests.test_cli import assert_refused


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


def later(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


@pytest.mark.anyio
async def test_issue_returns_a_prefixed_secret_and_stores_only_its_hash(
    session: AsyncSession,
) -> None:
    issued, secret = await issue_operator_token(session, org=None, name="support", expires_in=None)
    await session.commit()

    assert secret.startswith("scimop_")
    assert len(secret) > 40
    stored = (await session.scalars(select(OperatorToken))).one()
    assert stored.sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert stored.prefix == secret[:12]
    assert secret not in repr(stored.model_dump())
    assert issued.org_key is None
    assert issued.token.name == "support"


@pytest.mark.anyio
async def test_a_token_bound_to_an_organization_names_it(
    session: AsyncSession, acme: Organization
) -> None:
    issued, secret = await issue_operator_token(
        session, org=acme, name="acme admin", expires_in=timedelta(days=7)
    )
    await session.commit()

    found = await authenticate_operator(session, token=secret, now=datetime.now(UTC))

    assert found is not None
    assert found.org_key == "acme"
    assert found.token.id == issued.token.id
    assert issued.token.expires_at is not None
    assert issued.token.expires_at - issued.token.created_at == timedelta(days=7)


@pytest.mark.anyio
async def test_issue_refuses_an_empty_name_and_a_lifetime_that_is_not_positive(
    session: AsyncSession,
) -> None:
    with pytest.raises(OrganizationError, match="name must not be empty"):
        await issue_operator_token(session, org=None, name="  ", expires_in=None)
    with pytest.raises(OrganizationError, match="must be positive"):
        await issue_operator_token(session, org=None, name="x", expires_in=timedelta(0))


@pytest.mark.anyio
async def test_unknown_revoked_and_expired_tokens_open_nothing(session: AsyncSession) -> None:
    _, live = await issue_operator_token(session, org=None, name="live", expires_in=None)
    revoked, revoked_secret = await issue_operator_token(
        session, org=None, name="revoked", expires_in=None
    )
    _, expiring = await issue_operator_token(
        session, org=None, name="expiring", expires_in=timedelta(hours=1)
    )
    await revoke_operator_token(session, revoked.token.id)
    await session.commit()
    now = datetime.now(UTC)

    assert await authenticate_operator(session, token=live, now=now) is not None
    assert await authenticate_operator(session, token=live + "x", now=now) is None
    assert await authenticate_operator(session, token="scimop_unknown", now=now) is None
    assert await authenticate_operator(session, token=revoked_secret, now=now) is None
    assert await authenticate_operator(session, token=expiring, now=now) is not None
    assert await authenticate_operator(session, token=expiring, now=later(hours=2)) is None


@pytest.mark.anyio
async def test_a_scim_token_is_no_operator_token(session: AsyncSession, acme: Organization) -> None:
    _, scim_secret = await issue_token(session, org=acme, name="okta", expires_in=None)
    await session.commit()

    assert await authenticate_operator(session, token=scim_secret, now=datetime.now(UTC)) is None


@pytest.mark.anyio
async def test_last_used_is_written_at_most_once_a_minute(session: AsyncSession) -> None:
    issued, secret = await issue_operator_token(session, org=None, name="x", expires_in=None)
    first = datetime.now(UTC)

    await authenticate_operator(session, token=secret, now=first)
    assert issued.token.last_used_at == first
    await authenticate_operator(session, token=secret, now=first + timedelta(seconds=30))
    assert issued.token.last_used_at == first
    await authenticate_operator(session, token=secret, now=first + timedelta(minutes=2))
    assert issued.token.last_used_at == first + timedelta(minutes=2)


@pytest.mark.anyio
async def test_revoke_keeps_the_first_time_and_refuses_an_unknown_id(
    session: AsyncSession,
) -> None:
    issued, _ = await issue_operator_token(session, org=None, name="x", expires_in=None)
    first = await revoke_operator_token(session, issued.token.id)
    revoked_at = first.token.revoked_at

    again = await revoke_operator_token(session, issued.token.id)

    assert revoked_at is not None
    assert again.token.revoked_at == revoked_at
    with pytest.raises(OperatorTokenNotFound, match="No operator token 'op_nope'"):
        await revoke_operator_token(session, "op_nope")


@pytest.mark.anyio
async def test_list_shows_every_token_with_its_organization(
    session: AsyncSession, acme: Organization
) -> None:
    await issue_operator_token(session, org=None, name="support", expires_in=None)
    await issue_operator_token(session, org=acme, name="acme admin", expires_in=None)
    await session.commit()

    listed = await list_operator_tokens(session)

    assert [(t.token.name, t.org_key) for t in listed] == [
        ("support", None),
        ("acme admin", "acme"),
    ]


def operator(database_url: str, token: str) -> IssuedOperatorToken | None:
    async def check() -> IssuedOperatorToken | None:
        async with open_session(database_url) as session:
            return await authenticate_operator(session, token=token, now=datetime.now(UTC))

    return asyncio.run(check())


def test_admin_token_issue_list_revoke_from_the_cli(database_url: str) -> None:
    """The operator's sequence, on SQLite and on PostgreSQL."""
    cli = Cli(database_url)
    assert cli("migrate").exit_code == 0
    assert cli("org", "add", "acme", "--auth0-org", "org_1", "--connection", USER_DB).exit_code == 0

    issued = cli("admin", "token", "issue", "--org", "acme", "--name", "jane", "--expires-in", "3")
    assert issued.exit_code == 0, issued.output
    lines = issued.stdout.splitlines()
    token = lines[-1]
    assert token.startswith("scimop_")
    assert " " not in token
    assert all(token not in line for line in lines[:-1])
    assert "for organization acme" in issued.stdout
    found = operator(database_url, token)
    assert found is not None
    assert found.org_key == "acme"
    assert found.token.name == "jane"

    everywhere = cli("admin", "token", "issue").stdout.splitlines()[-1]
    found_everywhere = operator(database_url, everywhere)
    assert found_everywhere is not None
    assert found_everywhere.org_key is None

    listed = cli("admin", "token", "list")
    assert listed.exit_code == 0, listed.output
    assert token[:12] in listed.stdout
    assert token not in listed.stdout
    assert everywhere not in listed.stdout
    token_id = next(word for word in listed.stdout.split() if word.startswith("op_"))

    revoked = cli("admin", "token", "revoke", token_id)
    assert revoked.exit_code == 0, revoked.output
    assert token_id in revoked.stdout
    assert operator(database_url, token) is None
    assert operator(database_url, everywhere) is not None


def test_admin_token_cli_refuses_unknown_organizations_and_ids(database_url: str) -> None:
    cli = Cli(database_url)
    assert cli("migrate").exit_code == 0

    assert_refused(cli("admin", "token", "issue", "--org", "nobody"), "No organization 'nobody'")
    assert_refused(cli("admin", "token", "revoke", "op_nope"), "No operator token 'op_nope'")
    assert "No operator tokens" in cli("admin", "token", "list").stdout
