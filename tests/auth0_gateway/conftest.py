"""The emulator served by real uvicorn on 127.0.0.1, and a gateway on it using the real SDK.

One server per module; each test gets a fresh emulator behind it (the server forwards to whichever
emulator the ``emulator`` fixture installed), so no state leaks between tests.
"""

import socket
import threading
import time
from collections.abc import AsyncIterator
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.sandbox import DEMO
from scim_server.sandbox import Emulator
from scim_server.sandbox import seed_tenant

CLIENT_ID = "gateway-tests"
CLIENT_SECRET = "gateway-secret"


class Switchboard:
    """An ASGI app that forwards to the emulator of the current test."""

    def __init__(self) -> None:
        self.target: Emulator | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.target is not None, "no emulator installed"
        await self.target(scope, receive, send)


class Served:
    def __init__(self, url: str, switchboard: Switchboard) -> None:
        self.url = url
        self.switchboard = switchboard


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    switchboard = Switchboard()
    sock = socket.socket()
    # Accepted sockets inherit TCP_NODELAY; without it uvicorn's h11 writes meet delayed ACKs
    # and every request takes 40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(switchboard, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield Served(f"http://127.0.0.1:{port}", switchboard)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def make_emulator(**options: object) -> Emulator:
    emulator = Emulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **options)  # type: ignore[arg-type]
    seed_tenant(emulator.tenant, DEMO)
    return emulator


@pytest.fixture
def emulator(served: Served) -> Emulator:
    served.switchboard.target = make_emulator()
    return served.switchboard.target


@pytest.fixture
async def gateway(served: Served, emulator: Emulator) -> AsyncIterator[ManagementApiGateway]:
    gateway = ManagementApiGateway(
        management_url=served.url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, max_rps=1000
    )
    yield gateway
    await gateway.aclose()


def org_id(emulator: Emulator, name: str = "acme") -> str:
    organization = emulator.tenant.organization_named(name)
    assert organization is not None
    return str(organization["id"])


def role_id(emulator: Emulator, name: str) -> str:
    return next(str(r["id"]) for r in emulator.tenant.roles.values() if r["name"] == name)
