"""Request limits per organization, per admin caller and per failing address (issue 11, item 9)."""

from collections.abc import AsyncIterator
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from scim_server.config import Settings
from scim_server.web.app import create_app
from scim_server.web.rate_limits import RateLimiter
from tests.helpers.clock import FakeClock
from tests.helpers.databases import create_schema
from tests.helpers.tenants import Tenant
from tests.helpers.tenants import add_tenant
from tests.web.test_admin_api import operator_token
from tests.web.test_errors import assert_error

pytestmark = pytest.mark.anyio

USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann"}


def test_a_bucket_admits_its_burst_then_says_when_to_come_back() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=0.5, burst=2, clock=clock.monotonic)

    assert [limiter.take("acme"), limiter.take("acme"), limiter.take("acme")] == [None, None, 2]
    assert limiter.take("globex") is None
    clock.advance(1)
    assert limiter.take("acme") == 1
    clock.advance(1)
    assert limiter.take("acme") is None


def test_a_limiter_at_zero_is_off() -> None:
    limiter = RateLimiter(rate=0, burst=0)

    assert all(limiter.take("acme") is None for _ in range(1000))


def test_idle_buckets_are_forgotten_when_too_many_addresses_were_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1, burst=1, clock=clock.monotonic)
    monkeypatch.setattr("scim_server.web.rate_limits.MAX_KEYS", 3)
    for address in ("a", "b", "c"):
        limiter.take(address)
    clock.advance(1)  # a, b and c refilled: nothing to remember
    limiter.take("d")

    assert sorted(limiter._buckets) == ["d"]


def test_buckets_stay_bounded_when_every_address_is_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = RateLimiter(rate=1, burst=1, clock=FakeClock().monotonic)
    monkeypatch.setattr("scim_server.web.rate_limits.MAX_KEYS", 8)
    for n in range(100):
        limiter.take(f"10.0.0.{n}")

    assert len(limiter._buckets) <= 8


def test_the_defaults_leave_room_for_entra_and_okta() -> None:
    """Entra asks for at least 25 requests/s per tenant (idp-quirks §5.7)."""
    settings = Settings()

    assert (settings.rate_limit, settings.rate_burst, settings.auth_failure_limit) == (
        100,
        500,
        30,
    )


Limited = tuple[Starlette, httpx.AsyncClient, FakeClock]


@pytest.fixture
def limited(database_url: str) -> Callable[..., Any]:
    """Build an app with small limits and a fake clock."""

    async def build(**limits: str) -> Limited:
        clock = FakeClock()
        settings = Settings(SCIM_DATABASE_URL=database_url, SCIM_HOOK_SECRET="s", **limits)
        app = create_app(settings, clock=clock.monotonic)
        await create_schema(app.state.tenancy.database)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        return app, client, clock

    return build


@pytest.fixture
async def scim(limited: Callable[..., Any]) -> AsyncIterator[tuple[Limited, Tenant, Tenant]]:
    app, client, clock = await limited(
        SCIM_RATE_LIMIT="1", SCIM_RATE_BURST="3", SCIM_AUTH_FAILURE_LIMIT="3"
    )
    acme = await add_tenant(app.state.tenancy.database, "acme")
    globex = await add_tenant(app.state.tenancy.database, "globex")
    yield (app, client, clock), acme, globex
    await client.aclose()
    await app.state.tenancy.close()


async def test_an_organization_over_its_limit_gets_a_scim_429_with_retry_after(
    scim: tuple[Limited, Tenant, Tenant],
) -> None:
    (_, client, clock), acme, globex = scim
    answers = [
        (await client.get(f"{acme.base}/Users", headers=acme.headers)).status_code for _ in range(3)
    ]
    refused = await client.post(f"{acme.base}/Users", json=USER, headers=acme.headers)

    assert answers == [200, 200, 200]
    assert_error(refused, 429)
    assert refused.headers["retry-after"] == "1"
    assert (await client.get(f"{globex.base}/Users", headers=globex.headers)).status_code == 200
    clock.advance(1)
    created = await client.post(f"{acme.base}/Users", json=USER, headers=acme.headers)
    assert created.status_code == 201


async def test_requests_without_the_organizations_token_do_not_spend_its_budget(
    scim: tuple[Limited, Tenant, Tenant],
) -> None:
    """Else anyone could exhaust an organization's budget, and a 429 would reveal it exists."""
    (_, client, _), acme, globex = scim
    for _ in range(2):  # another organization's token: 401, like an unknown one
        stranger = await client.get(f"{acme.base}/Users", headers=globex.headers)
        assert stranger.status_code == 401

    answers = [
        (await client.get(f"{acme.base}/Users", headers=acme.headers)).status_code for _ in range(3)
    ]
    assert answers == [200, 200, 200]


async def test_repeated_failures_from_an_address_are_throttled_for_that_organization(
    scim: tuple[Limited, Tenant, Tenant],
) -> None:
    (_, client, clock), acme, globex = scim
    wrong = {"Authorization": "Bearer scim_guess"}
    failures = [
        (await client.get(f"{acme.base}/Users", headers=wrong)).status_code for _ in range(3)
    ]
    throttled = await client.get(f"{acme.base}/Users", headers=acme.headers)

    assert failures == [401, 401, 401]
    assert_error(throttled, 429)
    assert throttled.headers["retry-after"] == "20"  # 3 per minute: one every 20 s
    # The same address is not locked out of other organizations: Okta and Entra share theirs.
    assert (await client.get(f"{globex.base}/Users", headers=globex.headers)).status_code == 200
    clock.advance(20)
    assert (await client.get(f"{acme.base}/Users", headers=acme.headers)).status_code == 200


async def test_a_throttled_write_is_on_the_mapping_log(
    scim: tuple[Limited, Tenant, Tenant],
) -> None:
    (app, client, _), acme, _ = scim
    support = await operator_token(app.state.tenancy.database)
    for _ in range(4):
        await client.post(f"{acme.base}/Users", json=USER, headers=acme.headers)

    events = (await client.get("/admin/api/orgs/acme/events", headers=support)).json()["events"]

    statuses = [e["details"]["status"] for e in events if e["kind"] == "scim.request"]
    assert statuses == [201, 409, 409, 429]


async def test_the_admin_api_limits_each_caller_in_json(limited: Callable[..., Any]) -> None:
    app, client, _ = await limited(SCIM_RATE_LIMIT="1", SCIM_RATE_BURST="2")
    async with client:
        support = await operator_token(app.state.tenancy.database)
        other = await operator_token(app.state.tenancy.database, name="other")
        answers = [(await client.get("/admin/api/me", headers=support)) for _ in range(3)]
        beside = await client.get("/admin/api/me", headers=other)
    await app.state.tenancy.close()

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json() == {"error": "Request limit reached; retry in 1 s"}
    assert answers[2].headers["retry-after"] == "1"
    assert beside.status_code == 200


@pytest.mark.parametrize("method,path", [("GET", "/admin/api/me"), ("POST", "/hooks/auth0/login")])
async def test_failures_on_the_admin_api_and_the_hook_are_throttled_in_json(
    limited: Callable[..., Any], method: str, path: str
) -> None:
    app, client, _ = await limited(SCIM_AUTH_FAILURE_LIMIT="2")
    async with client:
        wrong = {"Authorization": "Bearer nope"}
        answers = [await client.request(method, path, headers=wrong) for _ in range(3)]
    await app.state.tenancy.close()

    assert [a.status_code for a in answers] == [401, 401, 429]
    assert answers[2].headers["content-type"] == "application/json"
    assert answers[2].headers["retry-after"] == "30"
    assert "failed authentications" in answers[2].json()["error"]
