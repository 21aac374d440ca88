"""Okta's provisioning traffic replayed over HTTP against the whole server (idp-quirks §4).

Each test sends the requests an Okta SCIM 2.0 app (OIN, PATCH flavour) sends for one lifecycle
event, with the bodies of Okta's SCIM 2.0 reference, to an organization on the ``okta`` profile,
then reads the resources back to check the state the server kept, not only the status codes.
"""

from typing import Any

import httpx
import pytest

from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
OKTA_AGENT = {"User-Agent": "Okta SCIM Client 1.0.0"}
PAGE = 100


class Okta:
    """An Okta SCIM client of one organization: its token, its User-Agent, its request shapes."""

    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client = client
        self.tenant = tenant
        self.headers = {**tenant.headers, **OKTA_AGENT}

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(
            f"{self.tenant.base}{path}", params=params, headers=self.headers
        )

    async def post(self, path: str, body: Any) -> httpx.Response:
        return await self.client.post(f"{self.tenant.base}{path}", json=body, headers=self.headers)

    async def put(self, path: str, body: Any) -> httpx.Response:
        return await self.client.put(f"{self.tenant.base}{path}", json=body, headers=self.headers)

    async def patch(self, path: str, *operations: Any) -> httpx.Response:
        body = {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}
        return await self.client.patch(f"{self.tenant.base}{path}", json=body, headers=self.headers)

    async def delete(self, path: str) -> httpx.Response:
        return await self.client.delete(f"{self.tenant.base}{path}", headers=self.headers)

    async def find_user(self, user_name: str) -> dict[str, Any]:
        """Okta's lookup before an assignment: a userName filter, first page of 100."""
        response = await self.get(
            "/Users", filter=f'userName eq "{user_name}"', startIndex=1, count=PAGE
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def assign(self, user_name: str, external_id: str, **extra: Any) -> httpx.Response:
        """Okta's POST of an assigned user, as the SCIM 2.0 reference shows it."""
        return await self.post("/Users", okta_user(user_name, external_id, **extra))

    async def fetch(self, path: str) -> dict[str, Any]:
        response = await self.get(path)
        assert response.status_code == 200, response.text
        return dict(response.json())


def okta_user(user_name: str, external_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "password": "1mz050nq",
        "active": True,
        **extra,
    }


@pytest.fixture
def idp(client: httpx.AsyncClient, okta: Tenant) -> Okta:
    return Okta(client, okta)


async def created_user(idp: Okta, user_name: str, external_id: str) -> dict[str, Any]:
    response = await idp.assign(user_name, external_id)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def created_group(idp: Okta, name: str) -> dict[str, Any]:
    response = await idp.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": name, "members": []}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def member_ids(idp: Okta, group_id: str) -> set[str]:
    group = await idp.fetch(f"/Groups/{group_id}")
    return {member["value"] for member in group.get("members") or []}


async def test_okta_assign_looks_up_by_user_name_then_creates_without_echoing_the_password(
    idp: Okta,
) -> None:
    lookup = await idp.find_user("test.user@okta.local")
    created = await idp.assign("test.user@okta.local", "00ujl29u0le5T6Aj10h7")

    assert lookup["schemas"] == [LIST_SCHEMA]
    assert lookup["totalResults"] == 0 and lookup.get("Resources", []) == []
    assert type(lookup["totalResults"]) is int
    assert type(lookup["startIndex"]) is int and lookup["startIndex"] == 1
    assert type(lookup["itemsPerPage"]) is int
    assert created.status_code == 201, created.text
    body = created.json()
    assert "password" not in body and "1mz050nq" not in created.text
    assert body["id"] and body["active"] is True
    assert body["externalId"] == "00ujl29u0le5T6Aj10h7"
    assert body["emails"] == [{"primary": True, "value": "test.user@okta.local", "type": "work"}]
    assert body["name"] == {"givenName": "Test", "familyName": "User"}
    assert body["meta"]["resourceType"] == "User"
    found = await idp.find_user("test.user@okta.local")
    assert found["totalResults"] == 1
    assert found["Resources"][0]["id"] == body["id"]
    assert "password" not in found["Resources"][0]


async def test_okta_assign_of_an_active_user_name_is_a_409_uniqueness(idp: Okta) -> None:
    await created_user(idp, "test.user@okta.local", "00u1")

    again = await idp.assign("test.user@okta.local", "00u2")

    assert again.status_code == 409
    assert again.json()["scimType"] == "uniqueness"
    assert again.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


async def test_okta_profile_push_puts_the_fetched_user_back_with_changes(idp: Okta) -> None:
    created = await created_user(idp, "test.user@okta.local", "00u1")
    current = await idp.fetch(f"/Users/{created['id']}")

    pushed = {
        **current,
        "name": {"givenName": "Another", "familyName": "Name"},
        "displayName": "Another Name",
    }
    response = await idp.put(f"/Users/{created['id']}", pushed)

    assert response.status_code == 200, response.text
    assert response.json()["name"] == {"givenName": "Another", "familyName": "Name"}
    stored = await idp.fetch(f"/Users/{created['id']}")
    assert stored["name"] == {"givenName": "Another", "familyName": "Name"}
    assert stored["displayName"] == "Another Name"
    assert stored["userName"] == "test.user@okta.local" and stored["active"] is True


async def test_okta_deactivate_is_a_path_less_replace_and_the_user_stays_readable(
    idp: Okta,
) -> None:
    created = await created_user(idp, "test.user@okta.local", "00u1")

    response = await idp.patch(
        f"/Users/{created['id']}", {"op": "replace", "value": {"active": False}}
    )

    assert response.status_code in (200, 204), response.text
    stored = await idp.fetch(f"/Users/{created['id']}")
    assert stored["active"] is False
    assert stored["userName"] == "test.user@okta.local"
    found = await idp.find_user("test.user@okta.local")
    assert [user["active"] for user in found["Resources"]] == [False]


async def test_okta_reassign_posts_the_same_external_id_and_restores_the_user_in_place(
    idp: Okta,
) -> None:
    """better-auth #11111: a server that keeps the inactive row answers 409 for ever."""
    created = await created_user(idp, "test.user@okta.local", "00u1")
    await idp.patch(f"/Users/{created['id']}", {"op": "replace", "value": {"active": False}})

    again = await idp.assign("test.user@okta.local", "00u1")

    assert again.status_code in (200, 201), again.text
    assert again.json()["id"] == created["id"]
    assert again.json()["active"] is True
    stored = await idp.fetch(f"/Users/{created['id']}")
    assert stored["active"] is True
    listed = await idp.get("/Users", startIndex=1, count=PAGE)
    assert listed.json()["totalResults"] == 1


async def test_okta_import_pages_users_by_hundreds_until_total_results(idp: Okta) -> None:
    expected = {f"user{number:03}@okta.local" for number in range(PAGE + 30)}
    for user_name in sorted(expected):
        await created_user(idp, user_name, f"00u{user_name}")

    seen: list[str] = []
    start, pages = 1, []
    while True:
        page = await idp.get("/Users", startIndex=start, count=PAGE)
        assert page.status_code == 200, page.text
        body = page.json()
        pages.append((body["startIndex"], body["itemsPerPage"], body["totalResults"]))
        seen += [user["userName"] for user in body.get("Resources", [])]
        start += PAGE
        if start > body["totalResults"]:
            break

    assert pages == [(1, PAGE, PAGE + 30), (PAGE + 1, 30, PAGE + 30)]
    assert len(seen) == len(set(seen)) and set(seen) == expected


async def test_okta_group_push_creates_the_group_without_members(idp: Okta) -> None:
    response = await idp.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Test Group", "members": []}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["displayName"] == "Test Group" and body["id"]
    assert not body.get("members")
    stored = await idp.fetch(f"/Groups/{body['id']}")
    assert stored["displayName"] == "Test Group" and not stored.get("members")


async def test_okta_group_rename_ignores_the_group_id_inside_the_value(idp: Okta) -> None:
    group = await created_group(idp, "Test Group")

    response = await idp.patch(
        f"/Groups/{group['id']}",
        {"op": "replace", "value": {"id": group["id"], "displayName": "Renamed Group"}},
    )

    assert response.status_code in (200, 204), response.text
    stored = await idp.fetch(f"/Groups/{group['id']}")
    assert stored["displayName"] == "Renamed Group" and stored["id"] == group["id"]


async def test_okta_group_rename_with_a_foreign_id_inside_the_value_keeps_the_id(idp: Okta) -> None:
    group = await created_group(idp, "Test Group")

    response = await idp.patch(
        f"/Groups/{group['id']}",
        {"op": "replace", "value": {"id": "not-this-group", "displayName": "Renamed"}},
    )

    assert response.status_code in (200, 204), response.text
    assert (await idp.fetch(f"/Groups/{group['id']}"))["displayName"] == "Renamed"
    assert (await idp.get("/Groups/not-this-group")).status_code == 404


async def test_okta_membership_push_removes_by_filter_and_adds_with_the_rename(idp: Okta) -> None:
    """Okta sends the rename on every membership update, then the member operations."""
    alice = await created_user(idp, "alice@okta.local", "00ua")
    bob = await created_user(idp, "bob@okta.local", "00ub")
    carol = await created_user(idp, "carol@okta.local", "00uc")
    group = await created_group(idp, "Test Group")
    first = await idp.patch(
        f"/Groups/{group['id']}",
        {
            "op": "add",
            "path": "members",
            "value": [{"value": alice["id"], "display": "alice@okta.local"}],
        },
        {
            "op": "add",
            "path": "members",
            "value": [{"value": bob["id"], "display": "bob@okta.local"}],
        },
    )
    assert first.status_code in (200, 204), first.text

    rename = await idp.patch(
        f"/Groups/{group['id']}",
        {"op": "replace", "value": {"id": group["id"], "displayName": "Test Group"}},
    )
    membership = await idp.patch(
        f"/Groups/{group['id']}",
        {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'},
        {
            "op": "add",
            "path": "members",
            "value": [{"value": carol["id"], "display": "carol@okta.local"}],
        },
    )

    assert rename.status_code in (200, 204), rename.text
    assert membership.status_code in (200, 204), membership.text
    assert await member_ids(idp, group["id"]) == {bob["id"], carol["id"]}
    listed = await idp.get("/Groups", filter=f'members eq "{carol["id"]}"')
    assert [g["id"] for g in listed.json()["Resources"]] == [group["id"]]


async def test_okta_aiw_group_put_with_null_members_clears_them(idp: Okta) -> None:
    """Okta's group bodies may carry ``"members": null``: read as "no members", not a 400."""
    alice = await created_user(idp, "alice@okta.local", "00ua")
    created = await idp.post(
        "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Nulls", "members": None}
    )
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    await idp.patch(
        f"/Groups/{group_id}", {"op": "add", "path": "members", "value": [{"value": alice["id"]}]}
    )
    assert await member_ids(idp, group_id) == {alice["id"]}

    replaced = await idp.put(
        f"/Groups/{group_id}",
        {"schemas": [GROUP_SCHEMA], "id": group_id, "displayName": "Nulls", "members": None},
    )

    assert replaced.status_code == 200, replaced.text
    assert await member_ids(idp, group_id) == set()
    assert (await idp.fetch(f"/Groups/{group_id}"))["displayName"] == "Nulls"


async def test_okta_unlink_deletes_the_group_with_a_204(idp: Okta) -> None:
    alice = await created_user(idp, "alice@okta.local", "00ua")
    group = await created_group(idp, "Test Group")
    await idp.patch(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": alice["id"]}]},
    )

    response = await idp.delete(f"/Groups/{group['id']}")

    assert response.status_code == 204
    assert response.content == b""
    assert (await idp.get(f"/Groups/{group['id']}")).status_code == 404
    listed = await idp.get("/Groups", startIndex=1, count=PAGE)
    assert listed.json()["totalResults"] == 0
    assert (await idp.fetch(f"/Users/{alice['id']}"))["active"] is True


async def test_okta_user_name_case_is_preserved_on_create_read_and_lookup(idp: Okta) -> None:
    """PostHog #42253: Okta's tests expect the supplied case back."""
    created = await created_user(idp, "Test.User@Okta.Local", "00u1")

    found = await idp.find_user("test.user@okta.local")

    assert created["userName"] == "Test.User@Okta.Local"
    assert (await idp.fetch(f"/Users/{created['id']}"))["userName"] == "Test.User@Okta.Local"
    assert [user["userName"] for user in found["Resources"]] == ["Test.User@Okta.Local"]
