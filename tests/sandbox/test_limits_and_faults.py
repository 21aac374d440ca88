import httpx
import pytest

from scim_server.sandbox import DEMO
from scim_server.sandbox import Emulator
from scim_server.sandbox import Fault
from scim_server.sandbox import FaultInjector
from scim_server.sandbox import seed_tenant
from tests.sandbox.conftest import CLIENT_ID
from tests.sandbox.conftest import CLIENT_SECRET
from tests.sandbox.conftest import FakeClock
from tests.sandbox.conftest import create_user

pytestmark = pytest.mark.anyio


@pytest.fixture
def emulator(clock: FakeClock) -> Emulator:
    emulator = Emulator(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, rps=2, burst=3, clock=clock
    )
    seed_tenant(emulator.tenant, DEMO)
    return emulator


async def test_every_response_carries_rate_limit_headers(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    for path, expected_remaining in (("roles", "2"), ("users/auth0%7Cnobody", "1")):
        response = await api.get(path)
        assert response.headers["x-ratelimit-limit"] == "3"
        assert response.headers["x-ratelimit-remaining"] == expected_remaining
        assert int(response.headers["x-ratelimit-reset"]) >= clock.now


async def test_an_empty_bucket_answers_429_until_it_refills(
    api: httpx.AsyncClient, clock: FakeClock
) -> None:
    statuses = [(await api.get("roles")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = await api.get("roles")
    assert limited.json() == {
        "statusCode": 429,
        "error": "Too Many Requests",
        "message": "Global limit has been reached",
        "errorCode": "too_many_requests",
    }
    assert limited.headers["x-ratelimit-remaining"] == "0"
    clock.advance(0.5)
    assert (await api.get("roles")).status_code == 200


async def test_fail_the_next_calls_of_one_endpoint(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.bucket.rps = None
    emulator.faults.fail("roles.list", status=503, times=2)
    statuses = [(await api.get("roles")).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert (await api.get("connections")).status_code == 200


async def test_a_percentage_of_failures(api: httpx.AsyncClient, emulator: Emulator) -> None:
    emulator.bucket.rps = None
    emulator.faults = FaultInjector(seed=7)
    emulator.faults.fail("*", status=500, times=None, probability=0.3)
    statuses = [(await api.get("roles")).status_code for _ in range(200)]
    assert 30 < statuses.count(500) < 90
    assert set(statuses) == {200, 500}


async def test_an_injected_429_reports_an_empty_bucket(
    api: httpx.AsyncClient, emulator: Emulator, clock: FakeClock
) -> None:
    emulator.faults.add(Fault("roles.list", status=429, retry_after=5))
    response = await api.get("roles")
    assert response.status_code == 429
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert int(response.headers["x-ratelimit-reset"]) == int(clock.now) + 5


async def test_succeed_then_500_creates_the_user(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.faults.fail_after_success("users.create")
    response = await api.post(
        "users",
        json={
            "connection": "Username-Password-Authentication",
            "email": "s@example.com",
            "password": "p",
        },
    )
    assert response.status_code == 500
    found = (await api.get("users-by-email", params={"email": "s@example.com"})).json()
    assert len(found) == 1


async def test_the_call_log_counts_calls_per_endpoint(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    await create_user(api, "c@example.com")
    await api.get("users/auth0%7Cnobody")
    assert emulator.calls.count("users.create", status=201) == 1
    assert emulator.calls.count("users.get", status=404) == 1
    assert emulator.calls.records[-1].path == "/api/v2/users/auth0%7Cnobody"


async def test_the_admin_surface_drives_faults_and_reads_state(
    anonymous: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    admin = httpx.URL("http://tenant.test/__emulator__/")
    fault = await api.post(admin.join("faults"), json={"endpoint": "users.create", "status": 503})
    assert fault.status_code == 201
    assert (
        await api.post(
            "users",
            json={
                "connection": "Username-Password-Authentication",
                "email": "a@x.com",
                "password": "p",
            },
        )
    ).status_code == 503
    calls = (await api.get(admin.join("calls"))).json()
    assert [(c["endpoint"], c["status"]) for c in calls][-1] == ("users.create", 503)
    seeded = (await api.post(admin.join("seed"), json={"roles": [{"name": "extra"}]})).json()
    assert seeded["roles"][0]["id"].startswith("rol_")
    login = await api.post(
        admin.join("logins"), json={"connection": "acme-okta", "email": "e@x.com"}
    )
    assert login.json()["user_id"] == "okta|acme-okta|e@x.com"
    state = (await api.get(admin.join("state"))).json()
    assert "okta|acme-okta|e@x.com" in state["users"]
    assert (await api.delete(admin.join("faults"))).status_code == 204
