"""/Bulk with bulkId references (RFC 7644 §3.7); one failed operation leaves the others."""

import httpx
import pytest

from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio


async def test_bulk_creates_a_user_and_a_group_referencing_it(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "u1",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "alice",
                },
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "dup",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "ALICE",
                },
            },
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g1",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Admins",
                    "members": [{"value": "bulkId:u1"}],
                },
            },
        ],
    }

    response = await client.post(f"{acme.base}/Bulk", json=body, headers=acme.headers)

    assert response.status_code == 200, response.text
    statuses = [op["status"] for op in response.json()["Operations"]]
    assert statuses == ["201", "409", "201"]
    groups = await client.get(f"{acme.base}/Groups", headers=acme.headers)
    users = await client.get(f"{acme.base}/Users", headers=acme.headers)
    assert users.json()["totalResults"] == 1
    alice = users.json()["Resources"][0]["id"]
    assert [m["value"] for m in groups.json()["Resources"][0]["members"]] == [alice]
