"""A token of one organization can never read or change another's data (DESIGN §3)."""

from typing import Any

import httpx
import pytest

from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

USER = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "victim@acme.example",
}
PATCH = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{"op": "replace", "path": "active", "value": False}],
}
SEARCH = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
    "filter": 'userName eq "victim@acme.example"',
}
BULK = {
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
    "Operations": [{"method": "DELETE", "path": "/Users/{user}"}],
}


def requests(user_id: str, group_id: str) -> list[tuple[str, str, Any]]:
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Stolen"}
    bulk = {**BULK, "Operations": [{"method": "DELETE", "path": f"/Users/{user_id}"}]}
    return [
        ("GET", "", None),
        ("GET", "/Users", None),
        ("GET", f'/Users?filter=userName eq "{USER["userName"]}"', None),
        ("POST", "/Users", USER),
        ("GET", f"/Users/{user_id}", None),
        ("PUT", f"/Users/{user_id}", USER),
        ("PATCH", f"/Users/{user_id}", PATCH),
        ("DELETE", f"/Users/{user_id}", None),
        ("POST", "/Users/.search", SEARCH),
        ("GET", "/Groups", None),
        ("POST", "/Groups", group),
        ("GET", f"/Groups/{group_id}", None),
        ("PUT", f"/Groups/{group_id}", group),
        ("PATCH", f"/Groups/{group_id}", PATCH),
        ("DELETE", f"/Groups/{group_id}", None),
        ("POST", "/.search", SEARCH),
        ("POST", "/Bulk", bulk),
        ("GET", "/ServiceProviderConfig", None),
        ("GET", "/ResourceTypes", None),
        ("GET", "/ResourceTypes/User", None),
        ("GET", "/Schemas", None),
        ("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", None),
        ("GET", "/Nowhere", None),
    ]


async def seed(client: httpx.AsyncClient, tenant: Tenant) -> tuple[str, str]:
    user = await client.post(f"{tenant.base}/Users", json=USER, headers=tenant.headers)
    assert user.status_code == 201, user.text
    group = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Admins",
        "members": [{"value": user.json()["id"]}],
    }
    created = await client.post(f"{tenant.base}/Groups", json=group, headers=tenant.headers)
    assert created.status_code == 201, created.text
    return user.json()["id"], created.json()["id"]


async def snapshot(client: httpx.AsyncClient, tenant: Tenant) -> list[Any]:
    users = await client.get(f"{tenant.base}/Users", headers=tenant.headers)
    groups = await client.get(f"{tenant.base}/Groups", headers=tenant.headers)
    return [users.json(), groups.json()]


async def test_another_organizations_token_is_refused_exactly_like_an_unknown_token(
    client: httpx.AsyncClient, acme: Tenant, globex: Tenant
) -> None:
    user_id, group_id = await seed(client, acme)
    before = await snapshot(client, acme)
    unknown = {"Authorization": "Bearer scim_not-a-real-token"}

    for method, path, body in requests(user_id, group_id):
        url = f"{acme.base}{path}"
        foreign = await client.request(method, url, json=body, headers=globex.headers)
        stranger = await client.request(method, url, json=body, headers=unknown)
        anonymous = await client.request(method, url, json=body)

        for response in (foreign, stranger, anonymous):
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["content-type"].startswith("application/scim+json")
            assert response.json() == stranger.json(), (method, path)
        assert foreign.headers.get("www-authenticate") == stranger.headers.get("www-authenticate")

    assert await snapshot(client, acme) == before


async def test_an_organization_does_not_see_another_organizations_resources(
    client: httpx.AsyncClient, acme: Tenant, globex: Tenant
) -> None:
    user_id, group_id = await seed(client, acme)

    assert (
        await client.get(f"{globex.base}/Users/{user_id}", headers=globex.headers)
    ).status_code == 404
    assert (
        await client.get(f"{globex.base}/Groups/{group_id}", headers=globex.headers)
    ).status_code == 404
    found = await client.get(
        f"{globex.base}/Users", params={"filter": f'id eq "{user_id}"'}, headers=globex.headers
    )
    assert found.json()["totalResults"] == 0
    listed = await client.get(f"{globex.base}/Users", headers=globex.headers)
    assert listed.json()["totalResults"] == 0
    for method in ("PUT", "PATCH", "DELETE"):
        body = PATCH if method == "PATCH" else USER
        response = await client.request(
            method,
            f"{globex.base}/Users/{user_id}",
            json=body if method != "DELETE" else None,
            headers=globex.headers,
        )
        assert response.status_code == 404, (method, response.text)


async def test_a_group_cannot_take_another_organizations_user_as_member(
    client: httpx.AsyncClient, acme: Tenant, globex: Tenant
) -> None:
    user_id, _ = await seed(client, acme)
    group = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Infiltrators",
        "members": [{"value": user_id}],
    }

    response = await client.post(f"{globex.base}/Groups", json=group, headers=globex.headers)

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"


async def test_the_same_user_name_lives_in_two_organizations(
    client: httpx.AsyncClient, acme: Tenant, globex: Tenant
) -> None:
    first = await client.post(f"{acme.base}/Users", json=USER, headers=acme.headers)
    second = await client.post(f"{globex.base}/Users", json=USER, headers=globex.headers)

    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
