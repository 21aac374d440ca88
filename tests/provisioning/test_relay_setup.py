"""Mode relay set-up against the emulator: SCIM configuration, token, and the token kept encrypted."""

from collections.abc import AsyncIterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine

from scim_server.auth0_gateway import InboundScimClient
from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.config import default_mappings_dir
from scim_server.mapping.profile import load_profiles
from scim_server.provisioning.relay_setup import RELAY_TOKEN_SCOPES
from scim_server.provisioning.relay_setup import RelaySetupError
from scim_server.provisioning.relay_setup import rotate_relay_token
from scim_server.provisioning.relay_setup import set_up_relay
from scim_server.sandbox import Emulator
from scim_server.sandbox.tokens import SCOPES
from scim_server.sandbox.tokens import TokenIssuer
from scim_server.storage.database import Database
from scim_server.storage.engine import create_sessionmaker
from scim_server.storage.relay_tokens import RelayTokenVault
from scim_server.storage.secret_box import SecretBox
from scim_server.storage.tables import Organization
from tests.helpers.auth0 import CLIENT_ID
from tests.helpers.auth0 import CLIENT_SECRET
from tests.helpers.auth0 import DATABASE
from tests.helpers.auth0 import demo_emulator
from tests.helpers.auth0 import gateway_on

pytestmark = pytest.mark.anyio

PROFILES = load_profiles(default_mappings_dir())
NOW = datetime.now(UTC)


@pytest.fixture
def emulator() -> Emulator:
    emulator = demo_emulator()
    emulator.tenant.add_connection("acme-sso", "samlp")
    return emulator


@pytest.fixture
async def gateway(emulator: Emulator) -> AsyncIterator[ManagementApiGateway]:
    gateway = gateway_on(emulator)
    yield gateway
    await gateway.aclose()


@pytest.fixture
async def vault(engine: AsyncEngine) -> RelayTokenVault:
    database = Database(engine=engine, sessions=create_sessionmaker(engine))
    async with database.session() as session:
        organization = Organization(key="acme-sso", auth0_org="acme", connection="acme-sso")
        session.add(organization)
        await session.commit()
        assert organization.id is not None
    return RelayTokenVault(
        database, org_id=organization.id, box=SecretBox([Fernet.generate_key().decode()])
    )


def connection_id(emulator: Emulator, name: str = "acme-sso") -> str:
    connection = emulator.tenant.connection_named(name)
    assert connection is not None
    return str(connection["id"])


def management_calls(emulator: Emulator) -> list[str]:
    return [r.endpoint for r in emulator.calls.records if r.endpoint != "oauth.token"]


async def test_set_up_creates_the_configuration_and_stores_a_working_token(
    gateway: ManagementApiGateway, vault: RelayTokenVault, emulator: Emulator
) -> None:
    setup = await set_up_relay(
        gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
    )

    configuration = emulator.tenant.inbound_scim.configurations[connection_id(emulator)]
    [minted] = emulator.tenant.inbound_scim.tokens[connection_id(emulator)]
    stored = await vault.load()
    assert (setup.created_configuration, setup.minted_token) == (True, True)
    assert configuration["user_id_attribute"] == "userName"
    assert minted.scopes == list(RELAY_TOKEN_SCOPES)
    assert (
        stored is not None and stored.token == minted.token and stored.token_id == minted.token_id
    )

    client = InboundScimClient(
        management_url="http://tenant.test",
        connection_id=setup.connection.id,
        token=stored.token,
        transport=httpx.ASGITransport(app=emulator),
    )
    created = await client.create_user({"userName": "jdoe@acme.com", "externalId": "00u1"})
    await client.aclose()
    assert created.user_id == "samlp|acme-sso|jdoe@acme.com"


async def test_running_it_again_changes_nothing(
    gateway: ManagementApiGateway, vault: RelayTokenVault, emulator: Emulator
) -> None:
    first = await set_up_relay(
        gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
    )
    emulator.calls.clear()
    again = await set_up_relay(
        gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
    )

    assert (again.created_configuration, again.minted_token) == (False, False)
    assert again.token == first.token
    assert management_calls(emulator) == [
        "connections.list",
        "connections.list",  # the checkpoint pager's empty last page
        "connections.scim_configuration.get",
        "connections.scim_configuration.tokens.get",
    ]


async def test_an_okta_workforce_connection_keys_users_by_external_id(
    gateway: ManagementApiGateway, vault: RelayTokenVault, emulator: Emulator
) -> None:
    setup = await set_up_relay(
        gateway=gateway, vault=vault, connection="acme-okta", profile=PROFILES["okta"]
    )
    assert setup.configuration.user_id_attribute == "externalId"


async def test_a_profile_without_relay_settings_takes_auth0s_default(
    gateway: ManagementApiGateway, vault: RelayTokenVault
) -> None:
    setup = await set_up_relay(
        gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["generic"]
    )
    assert setup.configuration.user_id_attribute == "userName"


async def test_a_configuration_that_disagrees_with_the_profile_is_refused(
    gateway: ManagementApiGateway, vault: RelayTokenVault, emulator: Emulator
) -> None:
    await gateway.scim_configurations.create(
        connection_id(emulator), user_id_attribute="externalId"
    )

    with pytest.raises(RelaySetupError) as caught:
        await set_up_relay(
            gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
        )

    message = str(caught.value)
    assert "'externalId'" in message and "'userName'" in message and "\n" not in message
    assert connection_id(emulator) not in emulator.tenant.inbound_scim.tokens
    assert await vault.load() is None


async def test_a_matching_configuration_is_kept(
    gateway: ManagementApiGateway, vault: RelayTokenVault, emulator: Emulator
) -> None:
    await gateway.scim_configurations.create(connection_id(emulator), user_id_attribute="USERNAME")
    setup = await set_up_relay(
        gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
    )
    assert (setup.created_configuration, setup.minted_token) == (False, True)


@pytest.mark.parametrize(
    ("connection", "expected"),
    [
        (
            DATABASE,
            "cannot be used in mode relay (strategy auth0): This connection type does not support SCIM",
        ),
        ("nowhere", "Auth0 has no connection named 'nowhere'"),
    ],
)
async def test_a_connection_without_scim_is_a_one_line_error(
    gateway: ManagementApiGateway, vault: RelayTokenVault, connection: str, expected: str
) -> None:
    with pytest.raises(RelaySetupError) as caught:
        await set_up_relay(
            gateway=gateway, vault=vault, connection=connection, profile=PROFILES["okta"]
        )
    assert expected in str(caught.value) and "\n" not in str(caught.value)


async def test_a_plan_without_scim_is_named(
    gateway: ManagementApiGateway, vault: RelayTokenVault, emulator: Emulator
) -> None:
    emulator.tenant.inbound_scim.available = False
    with pytest.raises(RelaySetupError, match="plan does not include SCIM"):
        await set_up_relay(
            gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
        )


async def test_a_missing_scope_is_named(
    gateway: ManagementApiGateway, vault: RelayTokenVault, emulator: Emulator
) -> None:
    fewer = " ".join(s for s in SCOPES.split() if s != "create:scim_token")
    emulator.tokens = TokenIssuer(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, clock=emulator.clock, scopes=fewer
    )
    with pytest.raises(RelaySetupError) as caught:
        await set_up_relay(
            gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
        )
    message = str(caught.value)
    assert "lacks a Management API scope" in message and "create:scim_token" in message
    assert "\n" not in message


async def test_a_token_near_expiry_is_replaced_and_the_old_one_deleted(
    gateway: ManagementApiGateway, vault: RelayTokenVault, emulator: Emulator
) -> None:
    first = await set_up_relay(
        gateway=gateway,
        vault=vault,
        connection="acme-sso",
        profile=PROFILES["okta"],
        token_lifetime=3600,
    )
    second = await set_up_relay(
        gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
    )

    listed = await gateway.scim_configurations.list_tokens(connection_id(emulator))
    stored = await vault.load()
    assert second.minted_token and second.token.token_id != first.token.token_id
    assert second.token.valid_until is None
    assert [t.token_id for t in listed] == [second.token.token_id]
    assert stored is not None and stored.token_id == second.token.token_id


async def test_a_token_deleted_in_auth0_is_replaced(
    gateway: ManagementApiGateway, vault: RelayTokenVault, emulator: Emulator
) -> None:
    first = await set_up_relay(
        gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
    )
    await gateway.scim_configurations.delete_token(connection_id(emulator), first.token.token_id)

    second = await set_up_relay(
        gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
    )
    assert second.minted_token and second.token.token_id != first.token.token_id


async def test_rotation_respects_the_two_token_cap(
    gateway: ManagementApiGateway, vault: RelayTokenVault, emulator: Emulator
) -> None:
    setup = await set_up_relay(
        gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
    )
    foreign = await gateway.scim_configurations.create_token(
        connection_id(emulator), scopes=["get:users"]
    )

    with pytest.raises(RelaySetupError) as caught:
        await rotate_relay_token(gateway=gateway, vault=vault, connection=setup.connection)

    stored = await vault.load()
    assert foreign.token_id in str(caught.value) and setup.token.token_id not in str(caught.value)
    assert stored is not None and stored.token_id == setup.token.token_id
    assert len(emulator.tenant.inbound_scim.tokens[connection_id(emulator)]) == 2


async def test_rotation_mints_stores_then_deletes(
    gateway: ManagementApiGateway, vault: RelayTokenVault, emulator: Emulator
) -> None:
    setup = await set_up_relay(
        gateway=gateway, vault=vault, connection="acme-sso", profile=PROFILES["okta"]
    )
    emulator.calls.clear()

    rotated = await rotate_relay_token(
        gateway=gateway, vault=vault, connection=setup.connection, now=NOW + timedelta(days=1)
    )

    assert management_calls(emulator) == [
        "connections.scim_configuration.tokens.get",
        "connections.scim_configuration.tokens.create",
        "connections.scim_configuration.tokens.delete",
    ]
    stored = await vault.load()
    assert stored is not None and stored.token == rotated.token != setup.token.token
