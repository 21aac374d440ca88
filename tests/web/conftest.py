from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from scim_server.config import Settings
from scim_server.intake.tenancy import Tenancy
from scim_server.web.app import create_app
from tests.helpers.databases import create_schema
from tests.helpers.tenants import Tenant
from tests.helpers.tenants import add_tenant


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[Starlette]:
    # Tenancy tests send hundreds of refused tokens from one address: the failure throttle
    # would answer them 429 (tests/web/test_rate_limits.py tests it with limits of its own).
    application = create_app(Settings(SCIM_DATABASE_URL=database_url, SCIM_AUTH_FAILURE_LIMIT=0))
    tenancy: Tenancy = application.state.tenancy
    await create_schema(tenancy.database)
    yield application
    await tenancy.close()


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def acme(app: Starlette) -> Tenant:
    return await add_tenant(app.state.tenancy.database, "acme")


@pytest.fixture
async def globex(app: Starlette) -> Tenant:
    return await add_tenant(app.state.tenancy.database, "globex")


@pytest.fixture
async def entra(app: Starlette) -> Tenant:
    return await add_tenant(app.state.tenancy.database, "contoso", profile="entra")


@pytest.fixture
async def okta(app: Starlette) -> Tenant:
    return await add_tenant(app.state.tenancy.database, "initech", profile="okta")


@pytest.fixture
async def onelogin(app: Starlette) -> Tenant:
    return await add_tenant(app.state.tenancy.database, "umbrella", profile="onelogin")
