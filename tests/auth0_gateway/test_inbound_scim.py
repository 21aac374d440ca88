"""The Inbound SCIM client against the emulator's Auth0 SCIM endpoint (auth0.md §13)."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from scim_server.auth0_gateway import Auth0Conflict
from scim_server.auth0_gateway import Auth0NotFound
from scim_server.auth0_gateway import Auth0Rejected
from scim_server.auth0_gateway import Auth0Unavailable
from scim_server.auth0_gateway import InboundScimClient
from scim_server.auth0_gateway.metrics import Auth0Metrics
from scim_server.sandbox import DEMO
from scim_server.sandbox import Emulator
from scim_server.sandbox import seed_tenant
from tests.auth0_gateway.conftest import Served
from tests.helpers.auth0 import enable_inbound_scim
from tests.helpers.clock import FakeClock

pytestmark = pytest.mark.anyio

JDOE = {
    "userName": "jdoe@acme.com",
    "externalId": "00u1",
    "name": {"givenName": "Jane", "familyName": "Doe"},
    "emails": [{"value": "jdoe@acme.com", "primary": True}],
    "active": True,
}
JDOE_ID = "samlp|acme-saml|jdoe@acme.com"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Emulator:
    emulator = Emulator(client_id="c", client_secret="s", clock=clock.time)
    seed_tenant(emulator.tenant, DEMO)
    return emulator


@pytest.fixture
def saml(emulator: Emulator) -> tuple[str, str]:
    return enable_inbound_scim(emulator, "acme-saml", "samlp")


def client_on(
    emulator: Emulator, clock: FakeClock, connection: str, token: str, **options: Any
) -> InboundScimClient:
    return InboundScimClient(
        management_url="http://tenant.test",
        connection_id=connection,
        token=token,
        clock=clock,
        transport=httpx.ASGITransport(app=emulator),
        **options,
    )


@pytest.fixture
async def client(
    emulator: Emulator, clock: FakeClock, saml: tuple[str, str]
) -> AsyncIterator[InboundScimClient]:
    client = client_on(emulator, clock, *saml)
    yield client
    await client.aclose()


async def test_create_get_and_find(client: InboundScimClient, emulator: Emulator) -> None:
    created = await client.create_user(JDOE)
    fetched = await client.get_user(created.user_id)
    by_user_name = await client.find_users("userName", "jdoe@acme.com")
    by_external_id = await client.find_users("externalId", "00u1")

    assert created.user_id == JDOE_ID
    assert (created.user_name, created.external_id, created.active) == (
        "jdoe@acme.com",
        "00u1",
        True,
    )
    assert fetched == created
    assert [u.user_id for u in by_user_name + by_external_id] == [JDOE_ID, JDOE_ID]
    assert emulator.tenant.users[JDOE_ID]["identities"][0]["connection"] == "acme-saml"


async def test_find_quotes_the_value_into_the_filter(client: InboundScimClient) -> None:
    await client.create_user(JDOE)
    assert await client.find_users("userName", 'x" or userName eq "jdoe@acme.com') == []


async def test_find_reads_every_page(client: InboundScimClient) -> None:
    for index in range(105):
        await client.create_user({**JDOE, "userName": f"u{index}@acme.com", "externalId": "same"})

    found = await client.find_users("externalId", "same")

    assert len({u.user_id for u in found}) == 105


async def test_a_duplicate_create_is_a_conflict_after_one_post(
    client: InboundScimClient, emulator: Emulator
) -> None:
    await client.create_user(JDOE)
    with pytest.raises(Auth0Conflict) as caught:
        await client.create_user(JDOE)
    assert caught.value.error_code == "uniqueness"
    assert emulator.calls.count("inbound_scim.users.create") == 2


async def test_a_lost_answer_is_found_by_the_user_id_auth0_derives(
    client: InboundScimClient, emulator: Emulator
) -> None:
    emulator.faults.fail_after_success("inbound_scim.users.create", status=502)

    with pytest.raises(Auth0Unavailable):
        await client.create_user(JDOE)
    with pytest.raises(Auth0Conflict):
        await client.create_user(JDOE)
    assert (await client.get_user(JDOE_ID)).user_id == JDOE_ID
    assert len(emulator.tenant.users) == 1


async def test_deactivate_and_reactivate(client: InboundScimClient, emulator: Emulator) -> None:
    await client.create_user(JDOE)

    await client.set_active(JDOE_ID, False)
    blocked = emulator.tenant.users[JDOE_ID]["blocked"]
    inactive = await client.get_user(JDOE_ID)
    await client.set_active(JDOE_ID, True)

    assert (blocked, inactive.active) == (True, False)
    assert (JDOE_ID, "refresh_tokens") in emulator.tenant.revocations
    assert (await client.get_user(JDOE_ID)).active is True


async def test_patch_changes_mapped_attributes(
    client: InboundScimClient, emulator: Emulator
) -> None:
    await client.create_user(JDOE)
    await client.patch_user(
        JDOE_ID, [{"op": "replace", "path": "name.givenName", "value": "Janet"}]
    )
    assert emulator.tenant.users[JDOE_ID]["given_name"] == "Janet"


async def test_delete_then_not_found(client: InboundScimClient, emulator: Emulator) -> None:
    await client.create_user(JDOE)
    await client.delete_user(JDOE_ID)

    assert JDOE_ID not in emulator.tenant.users
    with pytest.raises(Auth0NotFound):
        await client.get_user(JDOE_ID)
    with pytest.raises(Auth0NotFound):
        await client.delete_user(JDOE_ID)


async def test_a_refused_create_names_the_scim_type(client: InboundScimClient) -> None:
    with pytest.raises(Auth0Rejected) as caught:
        await client.create_user({k: v for k, v in JDOE.items() if k != "userName"})
    assert (caught.value.status, caught.value.error_code) == (400, "invalidValue")
    assert "userName" in str(caught.value)


async def test_a_refused_token_is_unavailable_until_the_token_is_replaced(
    emulator: Emulator, clock: FakeClock, saml: tuple[str, str]
) -> None:
    """A 401 is retried later: another replica may have rotated the token meanwhile."""
    connection, token = saml
    client = client_on(emulator, clock, connection, "tok_revoked")
    with pytest.raises(Auth0Unavailable) as caught:
        await client.find_users("userName", "x")
    client.use_token(token)

    assert caught.value.status == 401
    assert await client.find_users("userName", "x") == []
    await client.aclose()


async def test_a_token_without_the_scope_is_rejected(emulator: Emulator, clock: FakeClock) -> None:
    connection, token = enable_inbound_scim(emulator, "read-only", "okta", scopes=["get:users"])
    client = client_on(emulator, clock, connection, token)
    with pytest.raises(Auth0Rejected) as caught:
        await client.create_user(JDOE)
    assert caught.value.status == 403
    await client.aclose()


async def test_the_client_keeps_under_the_connection_rate(
    emulator: Emulator, clock: FakeClock, saml: tuple[str, str]
) -> None:
    """40 calls at 25 rps: none refused, and they take the time the budget says, not less."""
    client = client_on(emulator, clock, *saml)
    started = clock.now
    for _ in range(40):
        await client.find_users("userName", "x")
    await client.aclose()

    assert emulator.calls.count("inbound_scim.users.list", status=429) == 0
    assert emulator.calls.count("inbound_scim.users.list", status=200) == 40
    assert clock.now - started >= (40 - 25) / 25


async def test_a_429_pauses_the_client_until_auth0_resets(
    emulator: Emulator, clock: FakeClock, saml: tuple[str, str]
) -> None:
    client = client_on(emulator, clock, *saml, max_rps=1000)
    emulator.faults.fail("inbound_scim.users.list", status=429)
    with pytest.raises(Auth0Unavailable) as caught:
        await client.find_users("userName", "x")
    paused_at = clock.now
    await client.find_users("userName", "x")
    await client.aclose()

    assert caught.value.status == 429 and caught.value.retry_after is not None
    assert clock.now - paused_at >= caught.value.retry_after - 0.01 > 0.9


async def test_requests_are_counted_by_endpoint_template(
    emulator: Emulator, clock: FakeClock, saml: tuple[str, str]
) -> None:
    metrics = Auth0Metrics()
    client = client_on(emulator, clock, *saml, metrics=metrics)
    await client.create_user(JDOE)
    await client.get_user(JDOE_ID)
    await client.aclose()

    samples = {
        (s.labels["endpoint"], s.labels["method"], s.labels["status"])
        for metric in metrics.collect()
        for s in metric.samples
        if s.name == "scim_server_auth0_requests_total"
    }
    assert samples == {
        ("/scim/v2/connections/{id}/Users", "POST", "201"),
        ("/scim/v2/connections/{id}/Users/{id}", "GET", "200"),
    }


async def test_over_real_http(served: Served) -> None:
    """Through uvicorn, ids with ``|`` and ``@`` survive the trip as Auth0 expects them."""
    emulator = Emulator(client_id="c", client_secret="s")
    seed_tenant(emulator.tenant, DEMO)
    served.switchboard.target = emulator
    connection, token = enable_inbound_scim(emulator, "acme-saml", "samlp")
    client = InboundScimClient(management_url=served.url, connection_id=connection, token=token)

    created = await client.create_user(JDOE)
    fetched = await client.get_user(created.user_id)
    await client.delete_user(created.user_id)
    await client.aclose()

    assert fetched.user_id == JDOE_ID
    assert emulator.tenant.users == {}
    assert [r.path for r in emulator.calls.records][1] == (
        f"/scim/v2/connections/{connection}/Users/samlp%7Cacme-saml%7Cjdoe%40acme.com"
    )
