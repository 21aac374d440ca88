"""Groups over HTTP: members in their own table, displayName unique per organization."""

from typing import Any

import httpx
import pytest

from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


async def new_user(client: httpx.AsyncClient, tenant: Tenant, name: str) -> str:
    response = await client.post(
        f"{tenant.base}/Users",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name},
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def new_group(
    client: httpx.AsyncClient, tenant: Tenant, name: str, members: list[str]
) -> dict[str, Any]:
    response = await client.post(
        f"{tenant.base}/Groups",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m} for m in members],
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def member_ids(client: httpx.AsyncClient, tenant: Tenant, group_id: str) -> set[str]:
    response = await client.get(f"{tenant.base}/Groups/{group_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return {member["value"] for member in response.json().get("members", [])}


async def patch(
    client: httpx.AsyncClient, tenant: Tenant, group_id: str, *operations: Any
) -> httpx.Response:
    return await client.patch(
        f"{tenant.base}/Groups/{group_id}",
        json={"schemas": [PATCH_SCHEMA], "Operations": list(operations)},
        headers=tenant.headers,
    )


async def test_members_come_back_with_references(client: httpx.AsyncClient, acme: Tenant) -> None:
    alice = await new_user(client, acme, "alice")
    group = await new_group(client, acme, "Admins", [alice])

    assert group["members"] == [
        {"value": alice, "$ref": f"http://testserver{acme.base}/Users/{alice}"}
    ]


async def test_okta_membership_patch_removes_then_adds_one_member(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    alice, bob, carol = [await new_user(client, acme, n) for n in ("alice", "bob", "carol")]
    group = await new_group(client, acme, "Admins", [alice, bob])

    response = await patch(
        client,
        acme,
        group["id"],
        {"op": "remove", "path": f'members[value eq "{alice}"]'},
        {"op": "add", "path": "members", "value": [{"value": carol, "display": "carol"}]},
    )

    assert response.status_code == 204
    assert await member_ids(client, acme, group["id"]) == {bob, carol}


async def test_adding_an_existing_member_again_is_idempotent(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    alice = await new_user(client, acme, "alice")
    group = await new_group(client, acme, "Admins", [alice])

    response = await patch(
        client, acme, group["id"], {"op": "add", "path": "members", "value": [{"value": alice}]}
    )

    assert response.status_code == 204
    assert await member_ids(client, acme, group["id"]) == {alice}


async def test_replace_members_sets_the_whole_list(client: httpx.AsyncClient, acme: Tenant) -> None:
    alice, bob = await new_user(client, acme, "alice"), await new_user(client, acme, "bob")
    group = await new_group(client, acme, "Admins", [alice])

    await patch(
        client, acme, group["id"], {"op": "replace", "path": "members", "value": [{"value": bob}]}
    )

    assert await member_ids(client, acme, group["id"]) == {bob}


async def test_remove_members_without_a_filter_removes_them_all(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    alice, bob = await new_user(client, acme, "alice"), await new_user(client, acme, "bob")
    group = await new_group(client, acme, "Admins", [alice, bob])

    await patch(client, acme, group["id"], {"op": "remove", "path": "members"})

    assert await member_ids(client, acme, group["id"]) == set()


async def test_adding_an_unknown_member_changes_nothing(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    alice = await new_user(client, acme, "alice")
    group = await new_group(client, acme, "Admins", [])

    response = await patch(
        client,
        acme,
        group["id"],
        {"op": "replace", "path": "displayName", "value": "Renamed"},
        {"op": "add", "path": "members", "value": [{"value": alice}, {"value": "no-such-user"}]},
    )

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    fetched = await client.get(f"{acme.base}/Groups/{group['id']}", headers=acme.headers)
    assert fetched.json()["displayName"] == "Admins"
    assert "members" not in fetched.json()


async def test_display_name_is_unique_per_organization_whatever_its_case(
    client: httpx.AsyncClient, acme: Tenant, globex: Tenant
) -> None:
    await new_group(client, acme, "Engineering", [])

    clash = await client.post(
        f"{acme.base}/Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "ENGINEERING"},
        headers=acme.headers,
    )
    elsewhere = await client.post(
        f"{globex.base}/Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "Engineering"},
        headers=globex.headers,
    )

    assert clash.status_code == 409 and clash.json()["scimType"] == "uniqueness"
    assert elsewhere.status_code == 201


async def test_okta_aiw_put_with_the_groups_own_display_name_is_accepted(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    """Okta AIW PUTs the group with its own name; lightdash #15035 answered 409."""
    alice = await new_user(client, acme, "alice")
    group = await new_group(client, acme, "Engineering", [])

    response = await client.put(
        f"{acme.base}/Groups/{group['id']}",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": "Engineering",
            "members": [{"value": alice}],
        },
        headers=acme.headers,
    )

    assert response.status_code == 200, response.text
    assert await member_ids(client, acme, group["id"]) == {alice}


async def test_entra_reads_groups_without_members(client: httpx.AsyncClient, acme: Tenant) -> None:
    alice = await new_user(client, acme, "alice")
    group = await new_group(client, acme, "Engineering", [alice])

    single = await client.get(
        f"{acme.base}/Groups/{group['id']}",
        params={"excludedAttributes": "members"},
        headers=acme.headers,
    )
    listed = await client.get(
        f"{acme.base}/Groups",
        params={"excludedAttributes": "members", "filter": 'displayName eq "engineering"'},
        headers=acme.headers,
    )

    assert "members" not in single.json()
    assert listed.json()["totalResults"] == 1
    assert "members" not in listed.json()["Resources"][0]


async def test_filter_groups_by_member(client: httpx.AsyncClient, acme: Tenant) -> None:
    alice, bob = await new_user(client, acme, "alice"), await new_user(client, acme, "bob")
    group = await new_group(client, acme, "Engineering", [alice])
    await new_group(client, acme, "Sales", [bob])

    found = await client.get(
        f"{acme.base}/Groups",
        params={"filter": f'id eq "{group["id"]}" and members eq "{alice}"'},
        headers=acme.headers,
    )

    assert [g["displayName"] for g in found.json()["Resources"]] == ["Engineering"]


async def test_deleting_a_user_removes_it_from_its_groups(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    alice, bob = await new_user(client, acme, "alice"), await new_user(client, acme, "bob")
    group = await new_group(client, acme, "Engineering", [alice, bob])

    await client.delete(f"{acme.base}/Users/{alice}", headers=acme.headers)

    assert await member_ids(client, acme, group["id"]) == {bob}


async def test_deleting_a_group_frees_its_display_name(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    group = await new_group(client, acme, "Engineering", [])

    deleted = await client.delete(f"{acme.base}/Groups/{group['id']}", headers=acme.headers)
    again = await client.post(
        f"{acme.base}/Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "Engineering"},
        headers=acme.headers,
    )

    assert deleted.status_code == 204
    assert again.status_code == 201
