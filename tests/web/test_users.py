"""Users over HTTP: lifecycle rules of DESIGN §5 and the RFC 7644 behaviour IdPs rely on."""

from typing import Any

import httpx
import pytest
from sqlmodel import select

from scim_server.storage.tables import ScimResource
from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def user(user_name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "userName": user_name, "active": True, **extra}


def deactivate() -> dict[str, Any]:
    return {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }


async def create(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"{tenant.base}/Users", json=body, headers=tenant.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_creation_echoes_the_user_name_as_sent_and_answers_scim_json(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    response = await client.post(
        f"{acme.base}/Users", json=user("Barbara.Jensen@Acme.example"), headers=acme.headers
    )

    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["userName"] == "Barbara.Jensen@Acme.example"
    assert response.headers["location"] == f"http://testserver{acme.base}/Users/{body['id']}"
    assert response.headers["etag"] == body["meta"]["version"]
    fetched = await client.get(f"{acme.base}/Users/{body['id']}", headers=acme.headers)
    assert fetched.json()["userName"] == "Barbara.Jensen@Acme.example"


async def test_a_duplicate_user_name_of_another_case_is_a_409_uniqueness(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    await create(client, acme, user("bjensen@acme.example"))

    response = await client.post(
        f"{acme.base}/Users", json=user("BJensen@ACME.example"), headers=acme.headers
    )

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


async def test_user_name_filter_is_case_insensitive_and_external_id_is_case_exact(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    await create(client, acme, user("bjensen@acme.example", externalId="00uAbC"))

    async def total(filter_: str) -> int:
        response = await client.get(
            f"{acme.base}/Users", params={"filter": filter_}, headers=acme.headers
        )
        assert response.status_code == 200, response.text
        return int(response.json()["totalResults"])

    assert await total('userName eq "BJENSEN@acme.example"') == 1
    assert await total('externalId eq "00uAbC"') == 1
    assert await total('externalId eq "00uabc"') == 0


async def test_patch_answers_200_with_the_resource(client: httpx.AsyncClient, acme: Tenant) -> None:
    created = await create(client, acme, user("bjensen@acme.example"))

    response = await client.patch(
        f"{acme.base}/Users/{created['id']}", json=deactivate(), headers=acme.headers
    )

    assert response.status_code == 200
    assert response.json()["active"] is False
    assert response.json()["id"] == created["id"]


async def test_an_inactive_user_stays_visible(client: httpx.AsyncClient, acme: Tenant) -> None:
    created = await create(client, acme, user("bjensen@acme.example"))
    await client.patch(
        f"{acme.base}/Users/{created['id']}", json=deactivate(), headers=acme.headers
    )

    fetched = await client.get(f"{acme.base}/Users/{created['id']}", headers=acme.headers)
    found = await client.get(
        f"{acme.base}/Users",
        params={"filter": 'userName eq "bjensen@acme.example"'},
        headers=acme.headers,
    )

    assert fetched.status_code == 200
    assert fetched.json()["active"] is False
    assert found.json()["totalResults"] == 1


async def test_okta_reassignment_post_with_the_same_external_id_restores_the_deactivated_user(
    client: httpx.AsyncClient, okta: Tenant
) -> None:
    """Okta re-POSTs a re-assigned user with the same externalId (better-auth #11111)."""
    created = await create(client, okta, user("bjensen@okta.example", externalId="00u1"))
    await client.patch(
        f"{okta.base}/Users/{created['id']}", json=deactivate(), headers=okta.headers
    )

    again = await client.post(
        f"{okta.base}/Users",
        json=user("barbara@okta.example", externalId="00u1"),
        headers=okta.headers,
    )

    assert again.status_code == 201, again.text
    assert again.json()["id"] == created["id"]
    assert again.json()["active"] is True
    assert again.json()["userName"] == "barbara@okta.example"
    listed = await client.get(f"{okta.base}/Users", headers=okta.headers)
    assert listed.json()["totalResults"] == 1


async def test_a_post_matching_a_deleted_user_restores_it_with_the_same_id(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    created = await create(client, acme, user("bjensen@acme.example"))
    deleted = await client.delete(f"{acme.base}/Users/{created['id']}", headers=acme.headers)
    assert deleted.status_code == 204
    assert (
        await client.get(f"{acme.base}/Users/{created['id']}", headers=acme.headers)
    ).status_code == 404

    again = await create(client, acme, user("BJensen@acme.example"))

    assert again["id"] == created["id"]
    assert (
        await client.get(f"{acme.base}/Users/{created['id']}", headers=acme.headers)
    ).status_code == 200


async def test_a_deleted_user_of_another_external_id_is_not_restored(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    """Entra re-hires after a hard delete carry a new objectId: another person (idp-quirks §8.3)."""
    created = await create(client, acme, user("bjensen@acme.example", externalId="old-object-id"))
    await client.delete(f"{acme.base}/Users/{created['id']}", headers=acme.headers)

    again = await create(client, acme, user("bjensen@acme.example", externalId="new-object-id"))

    assert again["id"] != created["id"]


async def test_okta_a_post_whose_external_id_an_active_user_holds_is_a_409(
    client: httpx.AsyncClient, okta: Tenant
) -> None:
    await create(client, okta, user("bjensen@okta.example", externalId="00u1"))

    response = await client.post(
        f"{okta.base}/Users",
        json=user("other@okta.example", externalId="00u1"),
        headers=okta.headers,
    )

    assert response.status_code == 409
    assert response.json()["scimType"] == "uniqueness"


async def test_the_password_is_never_stored_nor_returned(
    client: httpx.AsyncClient, acme: Tenant, app: Any
) -> None:
    created = await create(client, acme, user("bjensen@acme.example", password="Sup3r-Secret!"))
    replaced = await client.put(
        f"{acme.base}/Users/{created['id']}",
        json=user("bjensen@acme.example", password="An0ther-Secret!"),
        headers=acme.headers,
    )
    patched = await client.patch(
        f"{acme.base}/Users/{created['id']}",
        json={
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "replace", "path": "password", "value": "Th1rd!"}],
        },
        headers=acme.headers,
    )

    for response in (replaced, patched):
        assert response.status_code == 200, response.text
        assert "Secret" not in response.text and "Th1rd" not in response.text
    assert "password" not in created
    async with app.state.tenancy.session() as session:
        rows = (await session.scalars(select(ScimResource))).all()
    stored = repr([(row.document, row.search_document) for row in rows])
    assert "Secret" not in stored and "Th1rd" not in stored


async def test_paging_is_stable_and_counts_are_integers(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    for number in range(7):
        await create(client, acme, user(f"user{number}@acme.example"))

    seen: list[str] = []
    for start in (1, 4, 7):
        page = await client.get(
            f"{acme.base}/Users", params={"startIndex": start, "count": 3}, headers=acme.headers
        )
        body = page.json()
        assert body["totalResults"] == 7 and body["startIndex"] == start
        assert isinstance(body["itemsPerPage"], int)
        seen += [resource["userName"] for resource in body["Resources"]]

    assert seen == [f"user{number}@acme.example" for number in range(7)]


async def test_sorting_by_user_name_descending(client: httpx.AsyncClient, acme: Tenant) -> None:
    for name in ("bob", "Alice", "carol"):
        await create(client, acme, user(name))

    page = await client.get(
        f"{acme.base}/Users",
        params={"sortBy": "userName", "sortOrder": "descending"},
        headers=acme.headers,
    )

    assert [r["userName"] for r in page.json()["Resources"]] == ["carol", "bob", "Alice"]


async def test_if_match_with_an_old_version_is_a_412(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    created = await create(client, acme, user("bjensen@acme.example"))
    old = created["meta"]["version"]
    await client.patch(
        f"{acme.base}/Users/{created['id']}", json=deactivate(), headers=acme.headers
    )

    response = await client.put(
        f"{acme.base}/Users/{created['id']}",
        json=user("bjensen@acme.example"),
        headers={**acme.headers, "If-Match": old},
    )

    assert response.status_code == 412


async def test_if_none_match_with_the_current_version_is_a_304(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    created = await create(client, acme, user("bjensen@acme.example"))

    response = await client.get(
        f"{acme.base}/Users/{created['id']}",
        headers={**acme.headers, "If-None-Match": created["meta"]["version"]},
    )

    assert response.status_code == 304


async def test_attributes_and_excluded_attributes_shape_the_response(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    created = await create(
        client, acme, user("bjensen@acme.example", displayName="Babs", title="Boss")
    )
    url = f"{acme.base}/Users/{created['id']}"

    only = (
        await client.get(url, params={"attributes": "displayName"}, headers=acme.headers)
    ).json()
    without = (
        await client.get(url, params={"excludedAttributes": "title"}, headers=acme.headers)
    ).json()

    assert only["displayName"] == "Babs" and "title" not in only and only["id"] == created["id"]
    assert "title" not in without and without["displayName"] == "Babs"
