import re

import httpx
import pytest

from scim_server.sandbox import Emulator
from tests.sandbox.conftest import create_user
from tests.sandbox.conftest import org_id

pytestmark = pytest.mark.anyio

DATABASE = "Username-Password-Authentication"


async def test_create_fills_auth0_defaults(api: httpx.AsyncClient) -> None:
    user = await create_user(api, "Jane.Doe@Example.com", given_name="Jane")
    assert re.fullmatch(r"auth0\|[0-9a-f]{24}", user["user_id"])
    assert user["email"] == "jane.doe@example.com"
    assert user["name"] == "jane.doe@example.com"
    assert user["nickname"] == "jane.doe"
    assert user["picture"].startswith("https://s.gravatar.com/avatar/")
    assert user["email_verified"] is False
    assert user["identities"] == [
        {
            "connection": DATABASE,
            "user_id": user["user_id"].removeprefix("auth0|"),
            "provider": "auth0",
            "isSocial": False,
        }
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", user["created_at"])
    assert "password" not in user
    assert "blocked" not in user


async def test_create_with_a_custom_user_id_prefixes_the_provider(api: httpx.AsyncClient) -> None:
    user = await create_user(api, "a@example.com", user_id="scim-42")
    assert user["user_id"] == "auth0|scim-42"


async def test_create_refuses_enterprise_connections(api: httpx.AsyncClient) -> None:
    response = await api.post("users", json={"connection": "acme-okta", "email": "a@example.com"})
    assert response.status_code == 400
    assert response.json()["errorCode"] == "operation_not_supported"


async def test_create_in_a_database_needs_a_password(api: httpx.AsyncClient) -> None:
    response = await api.post("users", json={"connection": DATABASE, "email": "a@example.com"})
    assert response.status_code == 400
    assert response.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": "Payload validation error: 'Missing required property: password'.",
        "errorCode": "invalid_body",
    }


async def test_create_rejects_unknown_properties(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "users", json={"connection": DATABASE, "email": "a@x.com", "password": "p", "x": 1}
    )
    assert response.status_code == 400
    assert "Additional properties not allowed: x" in response.json()["message"]


async def test_a_duplicate_email_in_the_connection_is_409(api: httpx.AsyncClient) -> None:
    await create_user(api, "dup@example.com")
    response = await api.post(
        "users", json={"connection": DATABASE, "email": "DUP@example.com", "password": "p"}
    )
    assert response.status_code == 409
    assert response.json() == {
        "statusCode": 409,
        "error": "Conflict",
        "message": "The user already exists.",
        "errorCode": "auth0_idp_error",
    }


async def test_passwordless_email_users_get_the_email_provider(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.tenant.add_connection("email", "email")
    response = await api.post("users", json={"connection": "email", "email": "p@example.com"})
    assert response.status_code == 201
    assert response.json()["user_id"].startswith("email|")


async def test_get_decodes_percent_encoded_ids(api: httpx.AsyncClient, emulator: Emulator) -> None:
    user = emulator.tenant.log_in(connection="acme-okta", email="j/doe@example.com")
    assert user["user_id"] == "okta|acme-okta|j/doe@example.com"
    response = await api.get("users/okta%7Cacme-okta%7Cj%2Fdoe%40example.com")
    assert response.status_code == 200
    assert response.json()["email"] == "j/doe@example.com"


async def test_get_honours_fields(api: httpx.AsyncClient) -> None:
    user = await create_user(api, "f@example.com")
    response = await api.get(
        f"users/{user['user_id']}", params={"fields": "user_id,email", "include_fields": "true"}
    )
    assert response.json() == {"user_id": user["user_id"], "email": "f@example.com"}


async def test_a_missing_user_is_404_inexistent_user(api: httpx.AsyncClient) -> None:
    response = await api.get("users/auth0%7Cnobody")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "The user does not exist.",
        "errorCode": "inexistent_user",
    }


async def test_patch_merges_metadata_one_level_and_null_deletes(api: httpx.AsyncClient) -> None:
    user = await create_user(
        api, "m@example.com", app_metadata={"a": 1, "b": {"x": 1}}, given_name="M"
    )
    response = await api.patch(
        f"users/{user['user_id']}",
        json={
            "app_metadata": {"a": None, "b": {"y": 2}, "c": 3},
            "given_name": None,
            "blocked": True,
        },
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["app_metadata"] == {"b": {"y": 2}, "c": 3}
    assert "given_name" not in updated
    assert updated["blocked"] is True


async def test_patch_of_a_missing_user_is_404(api: httpx.AsyncClient) -> None:
    response = await api.patch("users/auth0%7Cnobody", json={"blocked": True})
    assert response.status_code == 404


async def test_delete_is_idempotent(api: httpx.AsyncClient) -> None:
    user = await create_user(api, "d@example.com")
    assert (await api.delete(f"users/{user['user_id']}")).status_code == 204
    assert (await api.get(f"users/{user['user_id']}")).status_code == 404
    assert (await api.delete(f"users/{user['user_id']}")).status_code == 204


async def test_users_by_email_is_case_sensitive(api: httpx.AsyncClient) -> None:
    await create_user(api, "Case@Example.com")
    assert (await api.get("users-by-email", params={"email": "Case@Example.com"})).json() == []
    found = (await api.get("users-by-email", params={"email": "case@example.com"})).json()
    assert [u["email"] for u in found] == ["case@example.com"]


async def test_user_organizations_are_offset_pages(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    user = await create_user(api, "o@example.com")
    emulator.tenant.add_member(org_id(emulator), user["user_id"])
    response = await api.get(
        f"users/{user['user_id']}/organizations", params={"include_totals": "true"}
    )
    body = response.json()
    assert body["start"] == 0
    assert body["limit"] == 50
    assert body["total"] == 1
    assert [o["name"] for o in body["organizations"]] == ["acme"]


async def test_revocations_answer_202_with_an_empty_object(
    api: httpx.AsyncClient, emulator: Emulator
) -> None:
    user = await create_user(api, "r@example.com")
    sessions = await api.delete(f"users/{user['user_id']}/sessions")
    tokens = await api.delete(f"users/{user['user_id']}/refresh-tokens")
    assert (sessions.status_code, sessions.json()) == (202, {})
    assert (tokens.status_code, tokens.json()) == (202, {})
    assert emulator.tenant.revocations == [
        (user["user_id"], "sessions"),
        (user["user_id"], "refresh_tokens"),
    ]


async def test_revoking_for_a_missing_user_is_404(api: httpx.AsyncClient) -> None:
    assert (await api.delete("users/auth0%7Cnobody/sessions")).status_code == 404


async def test_create_refuses_a_null_property(api: httpx.AsyncClient) -> None:
    """Unlike PATCH, where null unsets a field, a create payload is typed: null is invalid."""
    response = await api.post(
        "users",
        json={
            "connection": DATABASE,
            "email": "a@example.com",
            "password": "p",
            "given_name": None,
        },
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == "invalid_body"
    assert "given_name" in response.json()["message"]
