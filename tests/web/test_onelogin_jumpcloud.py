"""OneLogin's and JumpCloud's provisioning traffic replayed over HTTP (idp-quirks §6).

OneLogin's payloads come from a JSON template the admin writes, so booleans arrive as strings
and ``"id": null`` appears; its organizations use the ``onelogin`` profile. JumpCloud speaks
plain SCIM 2.0 through the ``generic`` profile; what bites is its activation check, which
creates a test user and a test group and then deletes both.
"""

from typing import Any

import httpx
import pytest

from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def onelogin_template(user_name: str, *, active: str, **extra: Any) -> dict[str, Any]:
    """OneLogin's "SCIM v2 Enterprise" template once its placeholders are filled in."""
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "id": None,
        "userName": user_name,
        "name": {"familyName": "Jensen", "givenName": "Barbara", "formatted": "Barbara Jensen"},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "displayName": "Barbara Jensen",
        "title": "Engineer",
        "active": active,
        ENTERPRISE: {"department": "R&D"},
        **extra,
    }


async def fetch(client: httpx.AsyncClient, tenant: Tenant, path: str) -> dict[str, Any]:
    response = await client.get(f"{tenant.base}{path}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


# -- OneLogin ---------------------------------------------------------------------------


async def test_onelogin_template_with_string_active_and_null_id_creates_an_active_user(
    client: httpx.AsyncClient, onelogin: Tenant
) -> None:
    response = await client.post(
        f"{onelogin.base}/Users",
        json=onelogin_template("bjensen@onelogin.example.com", active="true"),
        headers=onelogin.headers,
    )

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] and created["active"] is True
    stored = await fetch(client, onelogin, f"/Users/{created['id']}")
    assert stored["active"] is True and stored["id"] == created["id"]
    assert stored["userName"] == "bjensen@onelogin.example.com"
    assert stored[ENTERPRISE] == {"department": "R&D"}
    assert stored["title"] == "Engineer"


async def test_onelogin_template_put_with_string_false_and_null_id_deactivates_the_user(
    client: httpx.AsyncClient, onelogin: Tenant
) -> None:
    created = await client.post(
        f"{onelogin.base}/Users",
        json=onelogin_template("bjensen@onelogin.example.com", active="true"),
        headers=onelogin.headers,
    )
    user_id = created.json()["id"]

    response = await client.put(
        f"{onelogin.base}/Users/{user_id}",
        json=onelogin_template("bjensen@onelogin.example.com", active="false", title="Manager"),
        headers=onelogin.headers,
    )

    assert response.status_code == 200, response.text
    stored = await fetch(client, onelogin, f"/Users/{user_id}")
    assert stored["active"] is False and stored["id"] == user_id
    assert stored["title"] == "Manager"


async def test_onelogin_template_string_active_on_a_patch(
    client: httpx.AsyncClient, onelogin: Tenant
) -> None:
    created = await client.post(
        f"{onelogin.base}/Users",
        json=onelogin_template("bjensen@onelogin.example.com", active="true"),
        headers=onelogin.headers,
    )
    user_id = created.json()["id"]

    response = await client.patch(
        f"{onelogin.base}/Users/{user_id}",
        json={
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "replace", "value": {"id": None, "active": "false"}}],
        },
        headers=onelogin.headers,
    )

    assert response.status_code == 200, response.text
    assert (await fetch(client, onelogin, f"/Users/{user_id}"))["active"] is False


# -- JumpCloud --------------------------------------------------------------------------


async def test_jumpcloud_activation_creates_then_deletes_a_test_user_and_group(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    user = await client.post(
        f"{acme.base}/Users",
        json={
            "schemas": [USER_SCHEMA],
            "userName": "scim.test@acme.example.com",
            "name": {"givenName": "SCIM", "familyName": "Test"},
            "emails": [{"value": "scim.test@acme.example.com", "type": "work", "primary": True}],
            "active": True,
        },
        headers=acme.headers,
    )
    assert user.status_code == 201, user.text
    user_id = user.json()["id"]
    group = await client.post(
        f"{acme.base}/Groups",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": "JumpCloud Test Group",
            "members": [{"value": user_id}],
        },
        headers=acme.headers,
    )
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]

    deleted_user = await client.delete(f"{acme.base}/Users/{user_id}", headers=acme.headers)
    deleted_group = await client.delete(f"{acme.base}/Groups/{group_id}", headers=acme.headers)

    assert deleted_user.status_code == 204, deleted_user.text
    assert deleted_group.status_code == 204, deleted_group.text
    for path in (f"/Users/{user_id}", f"/Groups/{group_id}"):
        assert (await client.get(f"{acme.base}{path}", headers=acme.headers)).status_code == 404
    users = await client.get(f"{acme.base}/Users", headers=acme.headers)
    groups = await client.get(f"{acme.base}/Groups", headers=acme.headers)
    assert users.json()["totalResults"] == 0 and groups.json()["totalResults"] == 0


async def test_jumpcloud_activation_run_twice_succeeds_twice(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    """An admin who re-activates the app reruns the check with the same test user and group."""
    statuses = []
    for _ in range(2):
        user = await client.post(
            f"{acme.base}/Users",
            json={
                "schemas": [USER_SCHEMA],
                "userName": "scim.test@acme.example.com",
                "active": True,
            },
            headers=acme.headers,
        )
        group = await client.post(
            f"{acme.base}/Groups",
            json={"schemas": [GROUP_SCHEMA], "displayName": "JumpCloud Test Group"},
            headers=acme.headers,
        )
        assert user.status_code == 201 and group.status_code == 201, (user.text, group.text)
        statuses += [
            (
                await client.delete(
                    f"{acme.base}/Groups/{group.json()['id']}", headers=acme.headers
                )
            ).status_code,
            (
                await client.delete(f"{acme.base}/Users/{user.json()['id']}", headers=acme.headers)
            ).status_code,
        ]

    assert statuses == [204, 204, 204, 204]
    assert (await client.get(f"{acme.base}/Users", headers=acme.headers)).json()[
        "totalResults"
    ] == 0


async def test_jumpcloud_member_removal_with_a_value_list_and_no_filter(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    ids = []
    for name in ("alice", "bob"):
        response = await client.post(
            f"{acme.base}/Users",
            json={"schemas": [USER_SCHEMA], "userName": name},
            headers=acme.headers,
        )
        ids.append(response.json()["id"])
    group = await client.post(
        f"{acme.base}/Groups",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": "Engineering",
            "members": [{"value": i} for i in ids],
        },
        headers=acme.headers,
    )
    group_id = group.json()["id"]

    response = await client.patch(
        f"{acme.base}/Groups/{group_id}",
        json={
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "remove", "path": "members", "value": [{"value": ids[0]}]}],
        },
        headers=acme.headers,
    )

    assert response.status_code == 204, response.text
    stored = await fetch(client, acme, f"/Groups/{group_id}")
    assert [member["value"] for member in stored["members"]] == [ids[1]]
