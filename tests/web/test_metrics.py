"""``/metrics`` scrapes: SCIM requests, the sync queue, Auth0 calls and the worker's retries."""

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from scim_server.config import Settings
from scim_server.provisioning.worker import Worker
from scim_server.sandbox import Emulator
from scim_server.storage.organizations import create_organization
from scim_server.storage.tokens import issue_token
from scim_server.web.app import create_app
from tests.helpers.auth0 import DATABASE
from tests.helpers.auth0 import demo_emulator
from tests.helpers.auth0 import gateway_on
from tests.helpers.auth0 import org_id
from tests.helpers.databases import create_schema
from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def user(email: str) -> dict[str, object]:
    return {
        "schemas": [USER_SCHEMA],
        "userName": email,
        "emails": [{"value": email, "primary": True}],
        "active": True,
    }


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return response.text


def value(exposition: str, name: str, **labels: str) -> float | None:
    """Return the sample ``name`` with exactly these labels, ``None`` when there is none."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return None


def label_values(exposition: str, label: str) -> set[str]:
    return {
        sample.labels[label]
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if label in sample.labels
    }


async def test_scim_requests_are_counted_by_organization_route_template_and_status(
    client: httpx.AsyncClient, acme: Tenant, globex: Tenant
) -> None:
    created = await client.post(
        f"{acme.base}/Users", json=user("ada@acme.example"), headers=acme.headers
    )
    assert created.status_code == 201
    user_id = created.json()["id"]
    await client.get(f"{acme.base}/Users/{user_id}", headers=acme.headers)
    await client.get(f"{acme.base}/Users/{user_id}", headers=acme.headers)
    await client.get(f"{acme.base}/Users/no-such-id", headers=acme.headers)
    await client.get(f"{globex.base}/Groups", headers=globex.headers)
    refused = await client.get("/scim/v2/evil-org-123/Users", headers=acme.headers)
    assert refused.status_code == 401

    exposition = await scrape(client)

    def requests(org: str, route: str, method: str, status: str) -> float | None:
        return value(
            exposition,
            "scim_server_http_requests_total",
            org=org,
            route=route,
            method=method,
            status=status,
        )

    assert requests("acme", "Users", "POST", "201") == 1
    assert requests("acme", "Users/{id}", "GET", "200") == 2
    assert requests("acme", "Users/{id}", "GET", "404") == 1
    assert requests("globex", "Groups", "GET", "200") == 1
    assert requests("", "Users", "GET", "401") == 1  # no organization before a token is accepted
    assert "evil-org-123" not in exposition and user_id not in exposition
    assert label_values(exposition, "org") == {"", "acme", "globex"}
    count = value(
        exposition,
        "scim_server_http_request_duration_seconds_count",
        route="Users/{id}",
        method="GET",
    )
    assert count == 3


async def test_routes_outside_scim_are_counted_by_their_template(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/healthz")
    await client.get("/no/such/page")

    exposition = await scrape(client)

    labels = {"org": "", "method": "GET"}
    assert (
        value(
            exposition, "scim_server_http_requests_total", route="/healthz", status="200", **labels
        )
        == 1
    )
    assert (
        value(
            exposition, "scim_server_http_requests_total", route="unmatched", status="404", **labels
        )
        == 1
    )


async def test_the_queue_gauges_read_every_organizations_tasks_at_each_scrape(
    client: httpx.AsyncClient, acme: Tenant, globex: Tenant
) -> None:
    before = time.time()
    for tenant, email in [(acme, "ada@acme.example"), (globex, "bob@globex.example")]:
        created = await client.post(
            f"{tenant.base}/Users", json=user(email), headers=tenant.headers
        )
        assert created.status_code == 201  # no worker runs: the joiners stay queued

    exposition = await scrape(client)
    elapsed = time.time() - before

    assert value(exposition, "scim_server_database_up") == 1
    assert value(exposition, "scim_server_sync_queue_depth") == 2
    assert value(exposition, "scim_server_sync_queue_due") == 2
    assert value(exposition, "scim_server_sync_tasks_in_error") == 0
    age = value(exposition, "scim_server_sync_oldest_due_age_seconds")
    assert age is not None and 0 <= age <= elapsed
    assert value(exposition, "scim_server_identity_links", state="pending") == 2


async def test_a_scrape_without_a_readable_database_still_reports_the_counters(
    database_url: str,
) -> None:
    app = create_app(Settings(SCIM_DATABASE_URL=database_url))  # no table: the queue is unreadable
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await client.get("/healthz")
            exposition = await scrape(client)
    finally:
        await app.state.tenancy.close()

    assert value(exposition, "scim_server_database_up") == 0
    assert value(exposition, "scim_server_sync_queue_depth") is None
    assert (
        value(
            exposition,
            "scim_server_http_requests_total",
            org="",
            route="/healthz",
            method="GET",
            status="200",
        )
        == 1
    )


@dataclass
class Provisioned:
    app: Starlette
    emulator: Emulator
    client: httpx.AsyncClient
    scim: dict[str, str]

    @property
    def worker(self) -> Worker:
        worker = self.app.state.worker
        assert isinstance(worker, Worker)
        return worker


@pytest.fixture
async def provisioned(database_url: str) -> AsyncIterator[Provisioned]:
    """The application with a worker on the emulator, and organization ``acme`` in it."""
    emulator = demo_emulator()
    gateway = gateway_on(emulator)
    app = create_app(Settings(SCIM_DATABASE_URL=database_url), gateway=gateway)
    database = app.state.tenancy.database
    await create_schema(database)
    async with database.session() as session:
        org = await create_organization(
            session, key="acme", auth0_org=org_id(emulator), connection=DATABASE, profile="okta"
        )
        _, token = await issue_token(session, org=org, name="okta", expires_in=None)
        await session.commit()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Provisioned(app, emulator, client, {"Authorization": f"Bearer {token}"})
    await gateway.aclose()
    await app.state.tenancy.close()


async def test_auth0_calls_are_counted_by_endpoint_template_and_status(
    provisioned: Provisioned,
) -> None:
    created = await provisioned.client.post(
        "/scim/v2/acme/Users", json=user("ada@acme.example"), headers=provisioned.scim
    )
    assert created.status_code == 201

    assert await provisioned.worker.run_once() == 1
    exposition = await scrape(provisioned.client)

    def calls(endpoint: str, method: str, status: str) -> float | None:
        return value(
            exposition,
            "scim_server_auth0_requests_total",
            endpoint=endpoint,
            method=method,
            status=status,
        )

    assert calls("/oauth/token", "POST", "200") == 1
    assert calls("/api/v2/users", "POST", "201") == 1
    assert calls("/api/v2/organizations/{id}/members", "POST", "204") == 1
    endpoints = label_values(exposition, "endpoint")
    assert all("auth0|" not in e and "org_" not in e for e in endpoints), endpoints
    assert value(exposition, "scim_server_sync_retries_total", reason="unavailable") == 0
    assert value(exposition, "scim_server_sync_queue_depth") == 0


async def test_a_429_is_counted_and_the_task_retried(provisioned: Provisioned) -> None:
    provisioned.emulator.faults.fail("users.*", status=429, times=1)
    created = await provisioned.client.post(
        "/scim/v2/acme/Users", json=user("ada@acme.example"), headers=provisioned.scim
    )
    assert created.status_code == 201

    assert await provisioned.worker.run_once() == 1
    exposition = await scrape(provisioned.client)

    (endpoint,) = {
        s.labels["endpoint"]
        for f in text_string_to_metric_families(exposition)
        for s in f.samples
        if s.name == "scim_server_auth0_rate_limited_total"
    }
    assert endpoint.startswith("/api/v2/users")
    assert value(exposition, "scim_server_auth0_rate_limited_total", endpoint=endpoint) == 1
    assert value(exposition, "scim_server_sync_retries_total", reason="unavailable") == 1
    assert value(exposition, "scim_server_sync_retries_total", reason="refused") == 0
    assert value(exposition, "scim_server_sync_queue_depth") == 1  # kept, due again later


async def test_a_scraper_asking_for_openmetrics_gets_it(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )

    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    assert "scim_server_database_up 1" in response.text


async def test_the_process_metrics_are_exported_too(client: httpx.AsyncClient) -> None:
    exposition = await scrape(client)

    assert value(exposition, "process_resident_memory_bytes") is not None  # Linux /proc
    assert "python_info" in exposition
