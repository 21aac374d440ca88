"""A connection's SCIM configuration and SCIM tokens through the real SDK over HTTP (auth0.md §13)."""

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from scim_server.auth0_gateway import Auth0Conflict
from scim_server.auth0_gateway import Auth0NotFound
from scim_server.auth0_gateway import Auth0Rejected
from scim_server.auth0_gateway import Auth0ScimUnsupported
from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.auth0_gateway import ScimMapping
from scim_server.sandbox import DEFAULT_DATABASE
from scim_server.sandbox import Emulator
from scim_server.sandbox.tokens import SCOPES
from scim_server.sandbox.tokens import TokenIssuer
from tests.auth0_gateway.conftest import CLIENT_ID
from tests.auth0_gateway.conftest import CLIENT_SECRET

pytestmark = pytest.mark.anyio


def connection_id(emulator: Emulator, name: str, strategy: str | None = None) -> str:
    connection = emulator.tenant.connection_named(name)
    if connection is None:
        assert strategy is not None
        connection = emulator.tenant.add_connection(name, strategy)
    return str(connection["id"])


async def test_create_then_get_a_configuration(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    saml = connection_id(emulator, "acme-saml", "samlp")

    created = await gateway.scim_configurations.create(saml)
    fetched = await gateway.scim_configurations.get(saml)

    assert created == fetched
    assert (created.connection_name, created.strategy) == ("acme-saml", "samlp")
    assert created.user_id_attribute == "userName"
    assert ScimMapping("blocked", "active") in created.mapping
    assert await gateway.scim_configurations.default_mapping(saml) == created.mapping


async def test_create_with_the_profile_attribute(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    saml = connection_id(emulator, "acme-saml", "samlp")
    created = await gateway.scim_configurations.create(saml, user_id_attribute="externalId")

    assert created.user_id_attribute == "externalId"


async def test_a_second_create_is_a_conflict(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    okta = connection_id(emulator, "acme-okta")
    await gateway.scim_configurations.create(okta)
    with pytest.raises(Auth0Conflict):
        await gateway.scim_configurations.create(okta)
    assert emulator.calls.count("connections.scim_configuration.create") == 2


async def test_a_missing_configuration_is_not_found_but_not_unsupported(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    with pytest.raises(Auth0NotFound) as caught:
        await gateway.scim_configurations.get(connection_id(emulator, "acme-okta"))
    assert not isinstance(caught.value, Auth0ScimUnsupported)


async def test_a_database_connection_is_recognisably_unsupported(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    database = connection_id(emulator, DEFAULT_DATABASE)
    for call in (
        gateway.scim_configurations.get(database),
        gateway.scim_configurations.create(database),
        gateway.scim_configurations.list_tokens(database),
    ):
        with pytest.raises(Auth0ScimUnsupported) as caught:
            await call
        assert "This connection type does not support SCIM" in str(caught.value)


async def test_update_and_delete(gateway: ManagementApiGateway, emulator: Emulator) -> None:
    okta = connection_id(emulator, "acme-okta")
    await gateway.scim_configurations.create(okta)
    mapping = [ScimMapping("preferred_username", "userName"), ScimMapping("blocked", "active")]

    updated = await gateway.scim_configurations.update(
        okta, user_id_attribute="userName", mapping=mapping
    )
    await gateway.scim_configurations.delete(okta)

    assert (updated.user_id_attribute, updated.mapping) == ("userName", tuple(mapping))
    with pytest.raises(Auth0NotFound):
        await gateway.scim_configurations.get(okta)


async def test_a_token_is_minted_listed_and_deleted(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    okta = connection_id(emulator, "acme-okta")
    await gateway.scim_configurations.create(okta)

    minted = await gateway.scim_configurations.create_token(
        okta, scopes=["get:users", "post:users"], lifetime=3600
    )
    listed = await gateway.scim_configurations.list_tokens(okta)
    await gateway.scim_configurations.delete_token(okta, minted.token_id)

    assert minted.token is not None and minted.token.startswith("tok_")
    assert minted.token not in repr(minted)
    assert minted.scopes == ("get:users", "post:users")
    assert minted.created_at is not None and minted.valid_until is not None
    assert minted.valid_until - minted.created_at == timedelta(hours=1)
    assert minted.is_active(datetime.now(UTC))
    assert [(t.token_id, t.token) for t in listed] == [(minted.token_id, None)]
    assert await gateway.scim_configurations.list_tokens(okta) == []
    with pytest.raises(Auth0NotFound):
        await gateway.scim_configurations.delete_token(okta, minted.token_id)


async def test_a_third_active_token_is_a_conflict(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    okta = connection_id(emulator, "acme-okta")
    await gateway.scim_configurations.create(okta)
    for _ in range(2):
        await gateway.scim_configurations.create_token(okta, scopes=["get:users"])
    with pytest.raises(Auth0Conflict):
        await gateway.scim_configurations.create_token(okta, scopes=["get:users"])


async def test_a_short_lifetime_is_rejected(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    okta = connection_id(emulator, "acme-okta")
    await gateway.scim_configurations.create(okta)
    with pytest.raises(Auth0Rejected) as caught:
        await gateway.scim_configurations.create_token(okta, scopes=["get:users"], lifetime=900)
    assert (caught.value.status, caught.value.error_code) == (400, "invalid_body")


async def test_a_missing_scope_is_named(gateway: ManagementApiGateway, emulator: Emulator) -> None:
    fewer = " ".join(s for s in SCOPES.split() if s != "create:scim_token")
    emulator.tokens = TokenIssuer(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, clock=emulator.clock, scopes=fewer
    )
    okta = connection_id(emulator, "acme-okta")
    await gateway.scim_configurations.create(okta)
    with pytest.raises(Auth0Rejected) as caught:
        await gateway.scim_configurations.create_token(okta, scopes=["get:users"])
    assert (caught.value.status, caught.value.error_code) == (403, "insufficient_scope")
    assert "create:scim_token" in str(caught.value)
