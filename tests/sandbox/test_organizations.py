import httpx
import pytest

from scim_server.sandbox import Emulator
from tests.sandbox.conftest import create_user
from tests.sandbox.conftest import org_id
from tests.sandbox.conftest import role_id

pytestmark = pytest.mark.anyio

ORG_NOT_FOUND = {
    "statusCode": 404,
    "error": "Not Found",
    "message": "No organization found by that id or name",
}


async def members(api: httpx.AsyncClient, emulator: Emulator, count: int) -> list[str]:
    ids = [(await create_user(api, f"u{i}@example.com"))["user_id"] for i in range(count)]
    for user_id in ids:
        emulator.tenant.add_member(org_id(emulator), user_id)
    return ids


async def test_get_by_name_and_by_id(api: httpx.AsyncClient, emulator: Emulator) -> None:
    by_name = (await api.get("organizations/name/acme")).json()
    assert by_name["id"] == org_id(emulator)
    assert (await api.get(f"organizations/{by_name['id']}")).json()["display_name"] == "Acme Corp"


async def test_a_missing_organization_is_404_without_error_code(api: httpx.AsyncClient) -> None:
    for path in (
        "organizations/name/nope",
        "organizations/org_nope",
        "organizations/org_nope/members",
    ):
        response = await api.get(path)
        assert (response.status_code, response.json()) == (404, ORG_NOT_FOUND)


async def test_create_answers_201_and_refuses_a_taken_name(api: httpx.AsyncClient) -> None:
    created = await api.post("organizations", json={"name": "globex", "display_name": "Globex"})
    assert created.status_code == 201
    assert created.json()["id"].startswith("org_")
    again = await api.post("organizations", json={"name": "globex"})
    assert again.status_code == 409
    assert again.json()["errorCode"] == "organization_conflict"


async def test_create_validates_the_name(api: httpx.AsyncClient) -> None:
    response = await api.post("organizations", json={"name": "Not Valid"})
    assert response.status_code == 400
    assert response.json()["errorCode"] == "invalid_body"


async def test_adding_more_than_ten_members_is_400(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    response = await api.post(
        f"organizations/{org_id(emulator)}/members",
        json={"members": [f"auth0|{i}" for i in range(11)]},
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == "invalid_body"


async def test_adding_ten_members_is_204_and_idempotent(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    ids = [(await create_user(api, f"m{i}@example.com"))["user_id"] for i in range(10)]
    path = f"organizations/{org_id(emulator)}/members"
    assert (await api.post(path, json={"members": ids})).status_code == 204
    assert (await api.post(path, json={"members": ids[:1]})).status_code == 204
    assert emulator.tenant.snapshot()["members"][org_id(emulator)] == ids


async def test_adding_a_missing_user_adds_nobody(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    user = await create_user(api, "real@example.com")
    response = await api.post(
        f"organizations/{org_id(emulator)}/members",
        json={"members": [user["user_id"], "auth0|ghost"]},
    )
    assert response.status_code == 404
    assert emulator.tenant.members[org_id(emulator)] == {}


async def test_removing_members_takes_a_json_body_and_is_idempotent(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    ids = await members(api, emulator, 2)
    path = f"organizations/{org_id(emulator)}/members"
    for _ in range(2):
        response = await api.request(
            "DELETE", path, json={"members": [*ids[:1], "auth0|never-a-member"]}
        )
        assert response.status_code == 204
    assert list(emulator.tenant.members[org_id(emulator)]) == ids[1:]


async def test_offset_member_pages_leave_roles_out(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    ids = await members(api, emulator, 3)
    response = await api.get(
        f"organizations/{org_id(emulator)}/members",
        params={"include_totals": "true", "per_page": 2},
    )
    body = response.json()
    assert (body["start"], body["limit"], body["total"]) == (0, 2, 3)
    assert [m["user_id"] for m in body["members"]] == ids[:2]
    assert set(body["members"][0]) == {"user_id", "email", "picture", "name"}


async def test_members_carry_roles_only_when_fields_ask(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    [user_id] = await members(api, emulator, 1)
    admin = role_id(emulator, "admin")
    emulator.tenant.assign_member_roles(org_id(emulator), user_id, [admin])
    params = {
        "fields": "user_id,roles",
        "include_fields": "true",
        "include_totals": "true",
        "per_page": 50,
    }
    body = (await api.get(f"organizations/{org_id(emulator)}/members", params=params)).json()
    assert body["members"] == [{"user_id": user_id, "roles": [{"id": admin, "name": "admin"}]}]


async def test_checkpoint_pages_end_with_an_empty_page_without_next(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    """take wins over include_totals; a short page still has a next (REC-go MembersCheckpointPagination)."""
    ids = await members(api, emulator, 3)
    path = f"organizations/{org_id(emulator)}/members"
    first = (await api.get(path, params={"include_totals": "true", "take": 2})).json()
    assert [m["user_id"] for m in first["members"]] == ids[:2]
    assert "total" not in first
    second = (await api.get(path, params={"take": 2, "from": first["next"]})).json()
    assert [m["user_id"] for m in second["members"]] == ids[2:]
    third = (await api.get(path, params={"take": 2, "from": second["next"]})).json()
    assert third == {"members": []}


async def test_offset_member_pages_stop_at_1000_records(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    response = await api.get(
        f"organizations/{org_id(emulator)}/members",
        params={"page": 10, "per_page": 100, "include_totals": "true"},
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == "invalid_paging"


async def test_member_roles_assign_list_and_remove(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    [user_id] = await members(api, emulator, 1)
    path = f"organizations/{org_id(emulator)}/members/{user_id.replace('|', '%7C')}/roles"
    admin, viewer = role_id(emulator, "admin"), role_id(emulator, "viewer")
    assert (await api.post(path, json={"roles": [admin, viewer]})).status_code == 204
    listed = (await api.get(path, params={"include_totals": "true"})).json()
    assert [r["name"] for r in listed["roles"]] == ["admin", "viewer"]
    assert (listed["start"], listed["limit"], listed["total"]) == (0, 50, 2)
    for _ in range(2):
        assert (await api.request("DELETE", path, json={"roles": [admin]})).status_code == 204
    assert emulator.tenant.snapshot()["member_roles"][org_id(emulator)] == {user_id: ["viewer"]}


async def test_the_51st_member_role_is_409(api: httpx.AsyncClient, emulator: Emulator) -> None:
    [user_id] = await members(api, emulator, 1)
    many = [emulator.tenant.add_role(f"r{i}")["id"] for i in range(51)]
    path = f"organizations/{org_id(emulator)}/members/{user_id}/roles"
    assert (await api.post(path, json={"roles": many[:50]})).status_code == 204
    response = await api.post(path, json={"roles": many[50:]})
    assert response.status_code == 409
    assert response.json()["message"] == "No more roles can be assigned to this organization member"


async def test_removing_a_member_drops_its_roles(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    [user_id] = await members(api, emulator, 1)
    emulator.tenant.assign_member_roles(org_id(emulator), user_id, [role_id(emulator, "admin")])
    await api.request(
        "DELETE", f"organizations/{org_id(emulator)}/members", json={"members": [user_id]}
    )
    assert emulator.tenant.snapshot()["member_roles"][org_id(emulator)] == {}


async def test_roles_filter_by_name_and_create_answers_200(api: httpx.AsyncClient) -> None:
    created = await api.post("roles", json={"name": "auditor", "description": "Audits"})
    assert created.status_code == 200
    listed = (
        await api.get("roles", params={"name_filter": "AUDIT", "include_totals": "true"})
    ).json()
    assert [r["name"] for r in listed["roles"]] == ["auditor"]
    assert listed["total"] == 1


async def test_a_missing_role_is_404_without_error_code(api: httpx.AsyncClient) -> None:
    response = await api.get("roles/rol_nope")
    assert response.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The role does not exist.",
    }


async def test_invitations_create_list_and_delete(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    org = org_id(emulator)
    body = {
        "inviter": {"name": "SCIM"},
        "invitee": {"email": "new@example.com"},
        "client_id": "app",
        "roles": [role_id(emulator, "member")],
        "send_invitation_email": False,
    }
    created = await api.post(f"organizations/{org}/invitations", json=body)
    assert created.status_code == 201
    invitation = created.json()
    assert invitation["id"].startswith("uinv_")
    assert invitation["invitation_url"] == (
        f"https://app.example.test/login?invitation={invitation['ticket_id']}&organization={org}&organization_name=acme"
    )
    assert invitation["roles"] == body["roles"]
    listed = (
        await api.get(f"organizations/{org}/invitations", params={"include_totals": "true"})
    ).json()
    assert [i["id"] for i in listed["invitations"]] == [invitation["id"]]
    assert "total" not in listed
    assert (
        await api.delete(f"organizations/{org}/invitations/{invitation['id']}")
    ).status_code == 204
    missing = await api.get(f"organizations/{org}/invitations/{invitation['id']}")
    assert missing.json()["errorCode"] == "inexistent_invitation"


async def test_accepting_an_invitation_makes_a_member_with_its_roles(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    org = org_id(emulator)
    body = {
        "inviter": {"name": "S"},
        "invitee": {"email": "i@example.com"},
        "client_id": "a",
        "roles": [role_id(emulator, "admin")],
    }
    invitation = (await api.post(f"organizations/{org}/invitations", json=body)).json()
    user = emulator.tenant.accept_invitation(org, invitation["id"], connection="acme-okta")
    state = emulator.tenant.snapshot()
    assert state["members"][org] == [user["user_id"]]
    assert state["member_roles"][org] == {user["user_id"]: ["admin"]}
    assert state["invitations"][org] == {}


async def test_connections_list_in_both_pagination_styles(api: httpx.AsyncClient) -> None:
    checkpoint = (await api.get("connections", params={"take": 1})).json()
    assert len(checkpoint["connections"]) == 1
    rest = (await api.get("connections", params={"take": 1, "from": checkpoint["next"]})).json()
    assert [c["strategy"] for c in rest["connections"]] == ["okta"]
    offset = (
        await api.get("connections", params={"include_totals": "true", "strategy": "auth0"})
    ).json()
    assert [c["name"] for c in offset["connections"]] == ["Username-Password-Authentication"]


async def test_unknown_routes_are_404(api: httpx.AsyncClient) -> None:
    assert (await api.get("clients")).status_code == 404
