"""Microsoft Entra ID's provisioning traffic replayed over HTTP against the whole server (idp-quirks §5).

The bodies are those of Microsoft's "Develop a SCIM endpoint" reference (with and without
``aadOptscim062020``), of the Entra SCIM validator and of the Microsoft Postman collection. Each
test sends them to an organization on the ``entra`` profile and reads the resources back, so
what is checked is the state the server kept, not only the status codes.
"""

import uuid
from typing import Any

import httpx
import pytest

from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTRA_AGENT = {"User-Agent": "Azure Active Directory SCIM Client"}


class Entra:
    """The Entra provisioning service of one organization: token, User-Agent, request shapes."""

    def __init__(self, client: httpx.AsyncClient, tenant: Tenant) -> None:
        self.client = client
        self.tenant = tenant
        self.headers = {**tenant.headers, **ENTRA_AGENT}

    def url(self, path: str) -> str:
        return f"{self.tenant.base}{path}"

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(self.url(path), params=params, headers=self.headers)

    async def post(self, path: str, body: Any) -> httpx.Response:
        return await self.client.post(self.url(path), json=body, headers=self.headers)

    async def patch(self, path: str, *operations: Any) -> httpx.Response:
        body = {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}
        return await self.client.patch(self.url(path), json=body, headers=self.headers)

    async def delete(self, path: str) -> httpx.Response:
        return await self.client.delete(self.url(path), headers=self.headers)

    async def fetch(self, path: str, **params: Any) -> dict[str, Any]:
        response = await self.get(path, **params)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def search(self, path: str, filter_: str, **params: Any) -> list[dict[str, Any]]:
        body = await self.fetch(path, filter=filter_, **params)
        assert body["schemas"] == [LIST_SCHEMA]
        resources: list[dict[str, Any]] = body.get("Resources", [])
        assert body["totalResults"] == len(resources)
        return resources

    async def patched(self, path: str, *operations: Any) -> httpx.Response:
        response = await self.patch(path, *operations)
        assert response.status_code in (200, 204), response.text
        return response


def entra_user(user_name: str, external_id: str, **extra: Any) -> dict[str, Any]:
    """The user Entra creates in Microsoft's reference (``Create User`` request)."""
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": external_id,
        "userName": user_name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"{user_name}@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
        **extra,
    }


def entra_group(display_name: str, external_id: str) -> dict[str, Any]:
    """The group Entra creates in Microsoft's reference (``Create Group`` request)."""
    return {
        "schemas": [GROUP_SCHEMA, ADSCIM_GROUP],
        "externalId": external_id,
        "displayName": display_name,
        "meta": {"resourceType": "Group"},
    }


@pytest.fixture
def idp(client: httpx.AsyncClient, entra: Tenant) -> Entra:
    return Entra(client, entra)


async def created_user(idp: Entra, user_name: str, **extra: Any) -> dict[str, Any]:
    response = await idp.post("/Users", entra_user(user_name, f"object-{user_name}", **extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def created_group(idp: Entra, display_name: str) -> dict[str, Any]:
    response = await idp.post("/Groups", entra_group(display_name, f"object-{display_name}"))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def member_ids(idp: Entra, group_id: str) -> set[str]:
    group = await idp.fetch(f"/Groups/{group_id}")
    return {member["value"] for member in group.get("members") or []}


# -- Users ------------------------------------------------------------------------------


async def test_entra_create_user_with_enterprise_schema_meta_and_nulls(idp: Entra) -> None:
    body = entra_user(
        "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        addresses=None,
        phoneNumbers=None,
        **{ENTERPRISE: {"employeeNumber": "701984", "department": "R&D", "manager": None}},
    )
    body["meta"] = {"resourceType": "User", "created": "1999-01-01T00:00:00Z"}

    response = await idp.post("/Users", body)

    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    created = response.json()
    stored = await idp.fetch(f"/Users/{created['id']}")
    for resource in (created, stored):
        assert resource["userName"] == "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
        assert resource["externalId"] == "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
        assert resource[ENTERPRISE] == {"employeeNumber": "701984", "department": "R&D"}
        assert "addresses" not in resource and "phoneNumbers" not in resource
        assert not resource.get("roles")
        assert resource["meta"]["created"] != "1999-01-01T00:00:00Z"
        assert ENTERPRISE in resource["schemas"]


async def test_entra_email_values_are_stored_exactly_as_sent(idp: Entra) -> None:
    """Microsoft: "store values exactly as sent"; on-premises AD forests often use ``.local``."""
    emails = [
        {"primary": True, "type": "work", "value": "Kim.Jensen@Contoso.COM"},
        {"type": "other", "value": "kjensen@corp.contoso.local"},
    ]

    response = await idp.post("/Users", entra_user("kjensen", "object-kjensen", emails=emails))

    assert response.status_code == 201, response.text
    assert response.json()["emails"] == emails
    assert (await idp.fetch(f"/Users/{response.json()['id']}"))["emails"] == emails
    found = await idp.search("/Users", 'emails.value eq "kim.jensen@contoso.com"')
    assert [u["id"] for u in found] == [response.json()["id"]]


async def test_entra_capitalised_replace_with_string_false_deactivates_the_user(idp: Entra) -> None:
    """langwatch #6972: a capitalised op answered 200 and applied nothing, so nobody was offboarded."""
    user = await created_user(idp, "Test_User_1")

    response = await idp.patch(
        f"/Users/{user['id']}", {"op": "Replace", "path": "active", "value": "False"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert (await idp.fetch(f"/Users/{user['id']}"))["active"] is False


async def test_entra_unknown_op_is_a_400_and_changes_nothing(idp: Entra) -> None:
    """pydantic/logfire #2355: an op the server does not know must never be a silent 2xx."""
    user = await created_user(idp, "Test_User_1")

    response = await idp.patch(
        f"/Users/{user['id']}", {"op": "Disable", "path": "active", "value": "False"}
    )

    assert response.status_code == 400
    assert response.json()["schemas"] == [ERROR_SCHEMA]
    assert (await idp.fetch(f"/Users/{user['id']}"))["active"] is True


async def test_entra_replace_of_the_work_email_value_and_family_name(idp: Entra) -> None:
    user = await created_user(
        idp,
        "Test_User_1",
        emails=[
            {"primary": True, "type": "work", "value": "old@testuser.com"},
            {"type": "home", "value": "home@testuser.com"},
        ],
    )

    await idp.patched(
        f"/Users/{user['id']}",
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "updatedEmail@microsoft.com",
        },
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    )

    stored = await idp.fetch(f"/Users/{user['id']}")
    assert sorted((e["type"], e["value"]) for e in stored["emails"]) == [
        ("home", "home@testuser.com"),
        ("work", "updatedEmail@microsoft.com"),
    ]
    assert stored["name"]["familyName"] == "updatedFamilyName"
    assert stored["name"]["givenName"] == "givenName"


async def test_entra_flagged_path_less_replace_with_dotted_and_urn_keys(idp: Entra) -> None:
    """With aadOptscim062020, Entra folds the unfiltered attributes into one path-less op."""
    user = await created_user(idp, "Test_User_1", **{ENTERPRISE: {"employeeNumber": "1"}})

    await idp.patched(
        f"/Users/{user['id']}",
        {
            "op": "replace",
            "value": {
                "displayName": "Babs Jensen",
                "name.givenName": "Kim",
                "name.familyName": "Jensen",
                f"{ENTERPRISE}:employeeNumber": "Bjensen",
            },
        },
    )

    stored = await idp.fetch(f"/Users/{user['id']}")
    assert stored["displayName"] == "Babs Jensen"
    assert (stored["name"]["givenName"], stored["name"]["familyName"]) == ("Kim", "Jensen")
    assert stored[ENTERPRISE]["employeeNumber"] == "Bjensen"
    assert stored["userName"] == "Test_User_1" and stored["active"] is True


async def test_entra_validator_filtered_add_on_a_missing_home_email_creates_it(idp: Entra) -> None:
    """sourcegraph PR #49119: the validator adds .value, .display and .primary of a new element."""
    user = await created_user(idp, "Test_User_1")

    await idp.patched(
        f"/Users/{user['id']}",
        {"op": "add", "path": 'emails[type eq "home"].value', "value": "home@testuser.com"},
        {"op": "add", "path": 'emails[type eq "home"].display', "value": "Home mail"},
    )

    stored = await idp.fetch(f"/Users/{user['id']}")
    by_type = {email["type"]: email for email in stored["emails"]}
    assert by_type["home"]["value"] == "home@testuser.com"
    assert by_type["home"]["display"] == "Home mail"
    assert by_type["work"]["value"] == "Test_User_1@testuser.com"
    assert by_type["work"]["primary"] is True


async def test_entra_roles_sent_as_json_in_a_string_become_the_role_value(idp: Entra) -> None:
    user = await created_user(idp, "Test_User_1")
    role = '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}'

    await idp.patched(
        f"/Users/{user['id']}", {"op": "Add", "path": "roles", "value": [{"value": role}]}
    )

    stored = await idp.fetch(f"/Users/{user['id']}")
    assert [(r["value"], r.get("display")) for r in stored["roles"]] == [("25", "Role1234")]


async def test_entra_single_app_role_replace_selects_the_role_by_primary_eq_string_true(
    idp: Entra,
) -> None:
    user = await created_user(
        idp,
        "Test_User_1",
        roles=[
            {"value": "Reader", "primary": False, "type": "WindowsAzureActiveDirectoryRole"},
            {"value": "Admin", "primary": True, "type": "WindowsAzureActiveDirectoryRole"},
        ],
    )

    await idp.patched(
        f"/Users/{user['id']}",
        {"op": "Replace", "path": 'roles[primary eq "True"].value', "value": "Owner"},
    )

    stored = await idp.fetch(f"/Users/{user['id']}")
    assert sorted((r["value"], r.get("primary")) for r in stored["roles"]) == [
        ("Owner", True),
        ("Reader", False),
    ]


async def test_entra_single_app_role_replace_creates_the_primary_role_when_there_is_none(
    idp: Entra,
) -> None:
    user = await created_user(idp, "Test_User_1")

    await idp.patched(
        f"/Users/{user['id']}",
        {"op": "Replace", "path": 'roles[primary eq "True"].value', "value": "Owner"},
    )

    stored = await idp.fetch(f"/Users/{user['id']}")
    assert [(r["value"], r.get("primary")) for r in stored["roles"]] == [("Owner", True)]


async def test_entra_validator_bare_string_manager_is_stored_as_the_manager_id(idp: Entra) -> None:
    manager = await created_user(idp, "Test_Manager")
    employee = await created_user(idp, "Test_User_1", **{ENTERPRISE: {"manager": manager["id"]}})
    other = await created_user(idp, "Test_Manager_2")

    await idp.patched(
        f"/Users/{employee['id']}",
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": other["id"]},
    )
    replaced = await idp.fetch(f"/Users/{employee['id']}")
    await idp.patched(
        f"/Users/{employee['id']}",
        {"op": "Add", "path": "manager", "value": [{"$ref": None, "value": manager["id"]}]},
    )
    legacy = await idp.fetch(f"/Users/{employee['id']}")

    assert employee[ENTERPRISE]["manager"]["value"] == manager["id"]
    assert replaced[ENTERPRISE]["manager"]["value"] == other["id"]
    assert replaced[ENTERPRISE]["manager"]["$ref"].endswith(f"/Users/{other['id']}")
    assert legacy[ENTERPRISE]["manager"]["value"] == manager["id"]


async def test_entra_filter_with_an_unquoted_value(idp: Entra) -> None:
    """Microsoft's reference shows ``GET /Users?filter=externalId eq jyoung``."""
    user = await created_user(idp, "jyoung")
    await idp.patched(
        f"/Users/{user['id']}", {"op": "Replace", "path": "externalId", "value": "jyoung"}
    )
    await created_user(idp, "other")

    found = await idp.search("/Users", "externalId eq jyoung")

    assert [u["id"] for u in found] == [user["id"]]


async def test_entra_test_connection_random_guid_filter_is_a_200_empty_list(idp: Entra) -> None:
    await created_user(idp, "Test_User_1")
    await created_group(idp, "Group_1")
    guid = str(uuid.uuid4())

    users = await idp.get("/Users", filter=f'userName eq "{guid}"')
    groups = await idp.get(
        "/Groups", filter=f'displayName eq "{guid}"', excludedAttributes="members"
    )

    for response in (users, groups):
        assert response.status_code == 200, response.text
        assert response.json()["schemas"] == [LIST_SCHEMA]
        assert response.json()["totalResults"] == 0
        assert not response.json().get("Resources")


async def test_entra_aadoptscim062020_on_the_tenant_url_is_harmless(idp: Entra) -> None:
    """Customers add ``?aadOptscim062020`` to the Tenant URL; it reaches us as a bare query flag."""
    flag = "aadOptscim062020"
    created = await idp.client.post(
        f"{idp.tenant.base}/Users?{flag}",
        json=entra_user("Test_User_1", "object-1"),
        headers=idp.headers,
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    found = await idp.client.get(
        f"{idp.tenant.base}/Users?{flag}&filter=userName%20eq%20%22Test_User_1%22",
        headers=idp.headers,
    )
    patched = await idp.client.patch(
        f"{idp.tenant.base}/Users/{user_id}?{flag}",
        json={
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
        headers=idp.headers,
    )
    root = await idp.client.get(f"{idp.tenant.base}/Users/{user_id}?{flag}", headers=idp.headers)

    assert found.status_code == 200, found.text
    assert [u["id"] for u in found.json()["Resources"]] == [user_id]
    assert patched.status_code == 200, patched.text
    assert root.status_code == 200 and root.json()["active"] is False


async def test_entra_postman_lowercase_endpoints_and_attribute_names_in_any_case(
    idp: Entra,
) -> None:
    created = await idp.post(
        "/users",
        {
            "schemas": [USER_SCHEMA],
            "UserName": "UPPERCASE.User@contoso.com",
            "Active": True,
            "ExternalId": "object-upper",
            "Name": {"GivenName": "Upper", "FamilyName": "Case"},
            "Emails": [{"Primary": True, "Type": "work", "Value": "upper@contoso.com"}],
        },
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    await idp.patched(
        f"/users/{user_id}", {"op": "Replace", "path": "Name.FamilyName", "value": "Lower"}
    )
    found = await idp.search(
        "/users", 'UserName Eq "uppercase.user@CONTOSO.com" and Emails.Value eq "upper@contoso.com"'
    )
    group = await idp.post("/groups", {"schemas": [GROUP_SCHEMA], "DisplayName": "Lowercase Group"})

    assert [u["id"] for u in found] == [user_id]
    stored = found[0]
    assert stored["userName"] == "UPPERCASE.User@contoso.com"
    assert stored["active"] is True and stored["externalId"] == "object-upper"
    assert stored["name"] == {"givenName": "Upper", "familyName": "Lower"}
    assert stored["emails"] == [{"primary": True, "type": "work", "value": "upper@contoso.com"}]
    assert group.status_code == 201, group.text
    assert (await idp.fetch(f"/Groups/{group.json()['id']}"))["displayName"] == "Lowercase Group"


async def test_entra_scim_null_update_clears_the_attributes(idp: Entra) -> None:
    """The gallery ``SCIM_Null_Update`` test: PATCH ``""``, then ``null``; the attributes go."""
    user = await created_user(
        idp, "Test_User_1", nickName="Babs", title="Boss", **{ENTERPRISE: {"department": "R&D"}}
    )

    await idp.patched(
        f"/Users/{user['id']}",
        {"op": "Replace", "path": "nickName", "value": ""},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": ""},
    )
    emptied = await idp.fetch(f"/Users/{user['id']}")
    await idp.patched(
        f"/Users/{user['id']}",
        {"op": "Replace", "path": "nickName", "value": None},
        {"op": "Replace", "path": "title", "value": None},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": None},
    )
    cleared = await idp.fetch(f"/Users/{user['id']}")

    assert emptied.get("nickName") in (None, "") and emptied["title"] == "Boss"
    assert emptied.get(ENTERPRISE, {}).get("department") in (None, "")
    assert "nickName" not in cleared and "title" not in cleared
    assert "department" not in cleared.get(ENTERPRISE, {})
    assert cleared["userName"] == "Test_User_1" and cleared["active"] is True


async def test_entra_hard_delete_is_a_204_then_the_user_is_gone(idp: Entra) -> None:
    user = await created_user(idp, "Test_User_1")

    deleted = await idp.delete(f"/Users/{user['id']}")

    assert deleted.status_code == 204 and deleted.content == b""
    gone = await idp.get(f"/Users/{user['id']}")
    assert gone.status_code == 404
    assert gone.json()["schemas"] == [ERROR_SCHEMA] and gone.json()["status"] == "404"
    assert await idp.search("/Users", 'userName eq "Test_User_1"') == []
    assert (await idp.delete(f"/Users/{user['id']}")).status_code == 404


async def test_entra_disabled_users_stay_visible_to_get_and_filters(idp: Entra) -> None:
    """ "The only time the user shouldn't be returned is when it's hard deleted" (Microsoft)."""
    user = await created_user(idp, "Test_User_1")
    await idp.patched(f"/Users/{user['id']}", {"op": "Replace", "path": "active", "value": "False"})

    by_id = await idp.fetch(f"/Users/{user['id']}")
    by_user_name = await idp.search("/Users", 'userName eq "Test_User_1"')
    by_external_id = await idp.search("/Users", 'externalId eq "object-Test_User_1"')
    listed = await idp.fetch("/Users")

    assert by_id["active"] is False
    assert [(u["id"], u["active"]) for u in by_user_name] == [(user["id"], False)]
    assert [(u["id"], u["active"]) for u in by_external_id] == [(user["id"], False)]
    assert [u["id"] for u in listed["Resources"]] == [user["id"]]


# -- Groups -----------------------------------------------------------------------------


async def test_entra_group_create_with_the_adscim_schema_urn(idp: Entra) -> None:
    response = await idp.post(
        "/Groups", entra_group("displayName", "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159")
    )

    assert response.status_code == 201, response.text
    created = response.json()
    stored = await idp.fetch(f"/Groups/{created['id']}")
    assert stored["displayName"] == "displayName"
    assert stored["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert stored["schemas"] == [GROUP_SCHEMA]


async def test_entra_group_lookup_by_display_name_without_members_in_any_case(idp: Entra) -> None:
    """Metatavu/keycloak-scim-server #46: the filter was ignored and every group came back."""
    alice = await created_user(idp, "alice")
    group = await created_group(idp, "Engineering")
    await created_group(idp, "Sales")
    await idp.patched(
        f"/Groups/{group['id']}",
        {"op": "Add", "path": "members", "value": [{"value": alice["id"]}]},
    )

    exact = await idp.search(
        "/Groups", 'displayName eq "Engineering"', excludedAttributes="members"
    )
    other_case = await idp.search(
        "/Groups", 'displayName eq "ENGINEERING"', excludedAttributes="members"
    )

    assert [g["id"] for g in exact] == [group["id"]]
    assert [g["id"] for g in other_case] == [group["id"]]
    assert all("members" not in g for g in exact + other_case)
    assert await member_ids(idp, group["id"]) == {alice["id"]}


async def test_entra_add_members_with_null_refs(idp: Entra) -> None:
    alice, bob = await created_user(idp, "alice"), await created_user(idp, "bob")
    group = await created_group(idp, "Engineering")

    response = await idp.patch(
        f"/Groups/{group['id']}",
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": alice["id"]}, {"$ref": None, "value": bob["id"]}],
        },
    )

    assert response.status_code == 204, response.text
    stored = await idp.fetch(f"/Groups/{group['id']}")
    assert {m["value"]: m["$ref"] for m in stored["members"]} == {
        alice["id"]: f"http://testserver{idp.tenant.base}/Users/{alice['id']}",
        bob["id"]: f"http://testserver{idp.tenant.base}/Users/{bob['id']}",
    }


async def test_entra_remove_members_with_a_value_list_removes_only_those(idp: Entra) -> None:
    """thomaspoignant/scim-patch #959 and others ignored it or wiped the whole group."""
    alice, bob, carol = [await created_user(idp, name) for name in ("alice", "bob", "carol")]
    group = await created_group(idp, "Engineering")
    await idp.patched(
        f"/Groups/{group['id']}",
        {
            "op": "Add",
            "path": "members",
            "value": [{"value": u["id"]} for u in (alice, bob, carol)],
        },
    )

    response = await idp.patch(
        f"/Groups/{group['id']}",
        {
            "op": "Remove",
            "path": "members",
            "value": [{"$ref": None, "value": alice["id"]}, {"value": carol["id"]}],
        },
    )

    assert response.status_code == 204, response.text
    assert await member_ids(idp, group["id"]) == {bob["id"]}


async def test_entra_flagged_remove_member_by_value_filter(idp: Entra) -> None:
    alice, bob = await created_user(idp, "alice"), await created_user(idp, "bob")
    group = await created_group(idp, "Engineering")
    await idp.patched(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": alice["id"]}, {"value": bob["id"]}]},
    )

    await idp.patched(
        f"/Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'}
    )

    assert await member_ids(idp, group["id"]) == {bob["id"]}


async def test_entra_members_path_capitalised_and_urn_qualified(idp: Entra) -> None:
    """langwatch #7140: ``Members`` and the URN-qualified path must mean ``members``."""
    alice, bob, carol = [await created_user(idp, name) for name in ("alice", "bob", "carol")]
    group = await created_group(idp, "Engineering")

    await idp.patched(
        f"/Groups/{group['id']}",
        {
            "op": "Add",
            "path": "Members",
            "value": [{"value": u["id"]} for u in (alice, bob, carol)],
        },
    )
    await idp.patched(
        f"/Groups/{group['id']}",
        {"op": "Remove", "path": f'{GROUP_SCHEMA}:members[value eq "{alice["id"]}"]'},
    )
    await idp.patched(
        f"/Groups/{group['id']}",
        {"op": "Remove", "path": "Members", "value": [{"value": bob["id"]}]},
    )

    assert await member_ids(idp, group["id"]) == {carol["id"]}


async def test_entra_group_rename_and_delete(idp: Entra) -> None:
    group = await created_group(idp, "Engineering")

    renamed = await idp.patch(
        f"/Groups/{group['id']}", {"op": "Replace", "path": "displayName", "value": "R&D"}
    )
    stored = await idp.fetch(f"/Groups/{group['id']}")
    deleted = await idp.delete(f"/Groups/{group['id']}")

    assert renamed.status_code == 204, renamed.text
    assert stored["displayName"] == "R&D"
    assert deleted.status_code == 204
    assert (await idp.get(f"/Groups/{group['id']}")).status_code == 404
