"""Faults, rate limits and credentials: what reaches the caller is always our error tree."""

import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from auth0.management.core import ApiError

from scim_server.auth0_gateway import Auth0Conflict
from scim_server.auth0_gateway import Auth0Rejected
from scim_server.auth0_gateway import Auth0Unavailable
from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.auth0_gateway.failures import from_api_error
from scim_server.sandbox import DEFAULT_DATABASE
from scim_server.sandbox import Emulator
from scim_server.sandbox import Fault
from tests.auth0_gateway.conftest import CLIENT_ID
from tests.auth0_gateway.conftest import CLIENT_SECRET
from tests.auth0_gateway.conftest import Served
from tests.auth0_gateway.conftest import make_emulator

pytestmark = pytest.mark.anyio


def gateway_for(url: str, **options: object) -> ManagementApiGateway:
    settings: dict[str, object] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "max_rps": 1000,
    }
    return ManagementApiGateway(management_url=url, **{**settings, **options})  # type: ignore[arg-type]


async def test_a_503_is_unavailable_after_one_call(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    emulator.faults.fail("roles.list", status=503)
    with pytest.raises(Auth0Unavailable) as caught:
        await gateway.list_roles()
    assert caught.value.status == 503
    assert emulator.calls.count("roles.list") == 1


async def test_a_429_is_unavailable_with_retry_after_from_the_reset_header(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    emulator.faults.add(Fault("users.get", status=429, retry_after=3))
    with pytest.raises(Auth0Unavailable) as caught:
        await gateway.get_user("auth0|x")
    assert caught.value.status == 429
    assert caught.value.retry_after is not None
    assert 1.5 < caught.value.retry_after <= 4


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"x-ratelimit-reset": "1030"}, 30.0),
        (429, {"retry-after": "2", "x-ratelimit-reset": "1030"}, 2.0),
        (503, {"x-ratelimit-reset": "1030"}, None),
        (500, {"x-ratelimit-reset": "1030", "x-ratelimit-remaining": "0"}, None),
        (503, {"retry-after": "5", "x-ratelimit-reset": "1030"}, 5.0),
        (401, {"x-ratelimit-reset": "1030"}, None),
    ],
)
def test_only_a_429_waits_for_the_rate_limit_reset(
    status: int, headers: dict[str, str], expected: float | None
) -> None:
    error = from_api_error(
        "users.get", ApiError(status_code=status, headers=headers, body={}), now=1000.0
    )
    assert isinstance(error, Auth0Unavailable)
    assert error.retry_after == expected


async def test_a_503_from_the_tenant_leaves_the_wait_to_the_caller(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    emulator.faults.fail("users.get", status=503)
    with pytest.raises(Auth0Unavailable) as caught:
        await gateway.get_user("auth0|x")
    assert caught.value.status == 503
    assert caught.value.retry_after is None


async def test_succeed_then_500_on_create_leaves_a_user_a_lookup_finds(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    emulator.faults.fail_after_success("users.create")
    with pytest.raises(Auth0Unavailable):
        await gateway.create_user(connection=DEFAULT_DATABASE, email="ghost@x.com", password="p")
    with pytest.raises(Auth0Conflict):
        await gateway.create_user(connection=DEFAULT_DATABASE, email="ghost@x.com", password="p")
    [found] = await gateway.find_users_by_email("ghost@x.com", connection=DEFAULT_DATABASE)
    assert found.user_id in emulator.tenant.users
    assert len(emulator.tenant.users) == 1


async def test_a_slow_answer_is_unavailable(served: Served, emulator: Emulator) -> None:
    emulator.faults.delay("roles.list", 0.5)
    gateway = gateway_for(served.url, timeout=0.1)
    try:
        with pytest.raises(Auth0Unavailable, match="timed out"):
            await gateway.list_roles()
    finally:
        await gateway.aclose()


async def test_an_unreachable_tenant_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = gateway_for(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(Auth0Unavailable):
            await gateway.list_roles()
    finally:
        await gateway.aclose()


async def test_wrong_credentials_are_rejected(served: Served, emulator: Emulator) -> None:
    gateway = gateway_for(served.url, client_secret="wrong")
    try:
        with pytest.raises(Auth0Rejected) as caught:
            await gateway.list_roles()
    finally:
        await gateway.aclose()
    assert (caught.value.status, caught.value.error_code) == (401, "invalid_client")


async def test_one_token_serves_many_calls(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    for _ in range(5):
        await gateway.list_connections()
    await gateway.get_organization_by_name("acme")
    assert emulator.calls.count("oauth.token") == 1


async def test_a_rejected_token_is_fetched_again_on_the_next_call(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    await gateway.list_connections()
    emulator.tokens.revoke_all()
    with pytest.raises(Auth0Unavailable) as caught:
        await gateway.list_connections()
    assert caught.value.status == 401
    await gateway.list_connections()
    assert emulator.calls.count("oauth.token") == 2


async def test_the_limiter_keeps_calls_under_max_rps(served: Served, emulator: Emulator) -> None:
    gateway = gateway_for(served.url, max_rps=40, burst=1)
    try:
        for _ in range(21):
            await gateway.get_organization_by_name("acme")
    finally:
        await gateway.aclose()
    times = [r.at for r in emulator.calls.records if r.endpoint == "organizations.get_by_name"]
    assert times[-1] - times[0] >= 20 / 40 * 0.9


@pytest.fixture
async def strict_tenant(served: Served) -> AsyncIterator[Emulator]:
    served.switchboard.target = make_emulator(rps=10, burst=2)
    yield served.switchboard.target


async def test_the_limiter_obeys_the_tenant_headers(
    served: Served, strict_tenant: Emulator
) -> None:
    """Our budget is higher than the tenant's, yet no call meets a 429: Remaining 0 pauses us."""
    gateway = gateway_for(served.url, max_rps=1000)
    started = time.monotonic()
    try:
        for _ in range(4):
            await gateway.get_organization_by_name("acme")
    finally:
        await gateway.aclose()
    assert strict_tenant.calls.count(status=429) == 0
    assert strict_tenant.calls.count("organizations.get_by_name", status=200) == 4
    assert time.monotonic() - started < 3


async def test_the_gateway_also_runs_in_process(emulator: Emulator) -> None:
    gateway = ManagementApiGateway(
        management_url="http://tenant.test",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        max_rps=1000,
        transport=httpx.ASGITransport(app=emulator),
    )
    try:
        assert (await gateway.get_organization_by_name("acme")).name == "acme"
    finally:
        await gateway.aclose()
