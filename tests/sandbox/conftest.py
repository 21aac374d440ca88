"""An emulator seeded with the demo tenant, driven in-process through httpx."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from scim_server.sandbox import DEMO
from scim_server.sandbox import Emulator
from scim_server.sandbox import create_emulator_app
from scim_server.sandbox import seed_tenant

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret"


class FakeClock:
    """Wall-clock time that moves only when a test says so."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Emulator:
    emulator = create_emulator_app(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, clock=clock)
    seed_tenant(emulator.tenant, DEMO)
    return emulator


@pytest.fixture
async def anonymous(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=emulator)
    async with httpx.AsyncClient(transport=transport, base_url="http://tenant.test") as client:
        yield client


@pytest.fixture
async def api(anonymous: httpx.AsyncClient) -> httpx.AsyncClient:
    """A client holding a fresh Management API token, with base URL ``/api/v2``."""
    response = await anonymous.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "audience": "http://tenant.test/api/v2/",
        },
    )
    anonymous.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    anonymous.base_url = httpx.URL("http://tenant.test/api/v2/")
    return anonymous


def org_id(emulator: Emulator, name: str = "acme") -> str:
    organization = emulator.tenant.organization_named(name)
    assert organization is not None
    return str(organization["id"])


def role_id(emulator: Emulator, name: str) -> str:
    return next(r["id"] for r in emulator.tenant.roles.values() if r["name"] == name)


async def create_user(api: httpx.AsyncClient, email: str, **extra: Any) -> dict[str, Any]:
    body = {
        "connection": "Username-Password-Authentication",
        "email": email,
        "password": "Secret-123!",
    }
    response = await api.post("users", json={**body, **extra})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result
