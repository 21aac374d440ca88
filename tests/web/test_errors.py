"""Bad input gets a clear SCIM error (RFC 7644 §3.12), never a 500, never a partial write."""

from typing import Any

import httpx
import pytest

from scim_server.storage.resources import SqlScimStorage
from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def assert_error(response: httpx.Response, status: int, scim_type: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body.get("detail")
    if scim_type is not None:
        assert body["scimType"] == scim_type


async def post_raw(
    client: httpx.AsyncClient, tenant: Tenant, path: str, content: bytes
) -> httpx.Response:
    return await client.post(
        f"{tenant.base}{path}",
        content=content,
        headers={**tenant.headers, "Content-Type": "application/scim+json"},
    )


async def test_malformed_json_is_a_400_invalid_syntax(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    assert_error(await post_raw(client, acme, "/Users", b'{"userName": '), 400, "invalidSyntax")


async def test_a_wrong_type_is_a_400(client: httpx.AsyncClient, acme: Tenant) -> None:
    body = (
        b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x","emails":"nope"}'
    )
    assert_error(await post_raw(client, acme, "/Users", body), 400)


async def test_a_missing_required_attribute_is_a_400(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    body = b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"x"}'
    assert_error(await post_raw(client, acme, "/Users", body), 400)


async def test_an_oversize_body_is_a_413(client: httpx.AsyncClient, acme: Tenant) -> None:
    body = b'{"userName":"' + b"x" * 1_100_000 + b'"}'
    assert_error(await post_raw(client, acme, "/Users", body), 413)


async def test_a_form_body_is_a_415(client: httpx.AsyncClient, acme: Tenant) -> None:
    response = await client.post(
        f"{acme.base}/Users",
        content=b"userName=x",
        headers={**acme.headers, "Content-Type": "text/plain"},
    )
    assert_error(response, 415)


async def test_json_content_type_is_accepted(client: httpx.AsyncClient, acme: Tenant) -> None:
    response = await client.post(
        f"{acme.base}/Users",
        content=b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x"}',
        headers={**acme.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201


async def test_an_invalid_filter_is_a_400_invalid_filter(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    response = await client.get(
        f"{acme.base}/Users", params={"filter": 'userName eq "x" and'}, headers=acme.headers
    )
    assert_error(response, 400, "invalidFilter")


async def test_a_filter_on_an_unknown_attribute_is_not_an_empty_200(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    response = await client.get(
        f"{acme.base}/Users", params={"filter": 'shoeSize eq "9"'}, headers=acme.headers
    )
    assert response.status_code == 400
    assert response.json()["scimType"] in {"invalidFilter", "invalidPath"}


async def test_an_unknown_resource_is_a_404_with_detail(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    assert_error(await client.get(f"{acme.base}/Users/nope", headers=acme.headers), 404)


async def test_an_unknown_endpoint_is_a_404(client: httpx.AsyncClient, acme: Tenant) -> None:
    assert_error(await client.get(f"{acme.base}/Widgets", headers=acme.headers), 404)


async def test_an_unknown_patch_op_is_a_400_and_writes_nothing(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    """An op the server does not know must never be a silent 2xx (langwatch #6972)."""
    created = await client.post(
        f"{acme.base}/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "x",
            "active": True,
        },
        headers=acme.headers,
    )
    user_id = created.json()["id"]

    response = await client.patch(
        f"{acme.base}/Users/{user_id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "active", "value": False},
                {"op": "frobnicate", "path": "title", "value": "x"},
            ],
        },
        headers=acme.headers,
    )

    assert_error(response, 400)
    fetched = await client.get(f"{acme.base}/Users/{user_id}", headers=acme.headers)
    assert fetched.json()["active"] is True


async def test_remove_without_a_path_is_a_400_no_target(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    created = await client.post(
        f"{acme.base}/Users",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x"},
        headers=acme.headers,
    )
    response = await client.patch(
        f"{acme.base}/Users/{created.json()['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove"}],
        },
        headers=acme.headers,
    )
    assert_error(response, 400, "noTarget")


async def test_an_unexpected_failure_is_a_generic_500_with_a_request_id(
    client: httpx.AsyncClient, acme: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(SqlScimStorage, "search", explode)

    response = await client.get(
        f"{acme.base}/Users", headers={**acme.headers, "X-Request-Id": "req-42"}
    )

    assert_error(response, 500)
    assert "req-42" in response.json()["detail"]
    assert response.headers["x-request-id"] == "req-42"
    assert "secret internals" not in response.text and "Traceback" not in response.text
