"""Every answer under /scim/v2/ is an RFC 7644 error body, even when no route serves the request."""

import httpx
import pytest

from tests.helpers.tenants import Tenant
from tests.web.test_errors import assert_error

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("path", ["/Users/a%0Ab", "/Users/a%0Db", "/Groups/%0Ax", "/Users/x/y%0Az"])
async def test_a_path_no_route_matches_is_a_scim_404(
    client: httpx.AsyncClient, acme: Tenant, path: str
) -> None:
    assert_error(await client.get(f"{acme.base}{path}", headers=acme.headers), 404)


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "CONNECT"])
async def test_a_method_no_route_serves_is_a_scim_405_naming_the_allowed_ones(
    client: httpx.AsyncClient, acme: Tenant, method: str
) -> None:
    response = await client.request(method, f"{acme.base}/Users", headers=acme.headers)

    assert_error(response, 405)
    assert "GET" in response.headers["allow"] and "PATCH" in response.headers["allow"]


async def test_the_admin_api_answers_json_for_a_method_it_does_not_serve(
    client: httpx.AsyncClient,
) -> None:
    response = await client.patch("/admin/api/me")

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "The method PATCH is not allowed here"}


async def test_elsewhere_an_unknown_path_keeps_the_plain_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")

    assert (response.status_code, response.text) == (404, "Not Found")
