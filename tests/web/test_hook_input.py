"""The login hook refuses bad input with a small JSON answer, never a 500 in plain text."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from scim_server.config import Settings
from scim_server.web.app import create_app
from scim_server.web.hook_input import HOOK_BODY_LIMIT
from tests.helpers.databases import create_schema

pytestmark = pytest.mark.anyio

SECRET = "hook-s3cret"
HOOK = "/hooks/auth0/login"
LOGIN = {
    "user_id": "samlp|acme|ann",
    "email": "ann@acme.test",
    "org_id": "org_acme",
    "org_name": "acme",
    "connection": "acme-saml",
}


@pytest.fixture
async def hook(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(Settings(SCIM_DATABASE_URL=database_url, SCIM_HOOK_SECRET=SECRET))
    await create_schema(app.state.tenancy.database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.tenancy.close()


async def post(client: httpx.AsyncClient, content: bytes, secret: bytes = SECRET.encode()) -> Any:
    response = await client.post(
        HOOK,
        content=content,
        headers={"Authorization": b"Bearer " + secret, "Content-Type": "application/json"},
    )
    assert response.headers["content-type"] == "application/json", response.text
    return response.status_code, response.json()


async def test_a_login_nobody_waits_for_links_no_one(hook: httpx.AsyncClient) -> None:
    assert await post(hook, json.dumps(LOGIN).encode()) == (200, {"linked": 0})


@pytest.mark.parametrize("secret", ["sécret".encode(), "hook-s3cret\u00ff".encode("latin-1"), b""])
async def test_a_wrong_bearer_token_is_a_401_whatever_its_characters(
    hook: httpx.AsyncClient, secret: bytes
) -> None:
    """hmac.compare_digest raised TypeError on a non-ASCII str: a 500 in plain text."""
    assert await post(hook, b"{}", secret) == (401, {"error": "unauthorized"})


@pytest.mark.parametrize(
    "content",
    [b"[" * 10_000, b'{"a":' * 2000 + b"1" + b"}" * 2000, b"{nope", b"[]", b"", b"\xff\xfe"],
    ids=["deep-array", "deep-object", "malformed", "not-an-object", "empty", "not-utf8"],
)
async def test_a_body_that_is_no_json_object_is_a_400(
    hook: httpx.AsyncClient, content: bytes
) -> None:
    status, body = await post(hook, content)

    assert (status, body["error"]) == (400, "invalid_body")


@pytest.mark.parametrize(
    "field,value",
    [
        ("email", "ann\x00@acme.test"),
        ("email", "ann\ud800@acme.test"),
        ("user_id", "x" * 600),
        ("connection", ""),
        ("org_id", 7),
        ("org_name", "acme\x00"),
    ],
    ids=["nul", "surrogate", "too-long", "empty", "not-a-string", "optional-nul"],
)
async def test_a_field_no_database_can_look_up_is_a_400(
    hook: httpx.AsyncClient, field: str, value: Any
) -> None:
    content = json.dumps({**LOGIN, field: value}).encode()

    status, body = await post(hook, content)

    assert (status, body["error"]) == (400, "invalid_body")


async def test_a_body_of_100000_brackets_is_refused_for_its_size(hook: httpx.AsyncClient) -> None:
    assert (await post(hook, b"[" * 100_000))[0] == 413


async def test_a_body_over_the_limit_is_a_413_without_being_read_whole(
    hook: httpx.AsyncClient,
) -> None:
    status, body = await post(hook, b'{"pad": "' + b"x" * HOOK_BODY_LIMIT + b'"}')

    assert (status, body) == (413, {"error": "too_large", "limit": HOOK_BODY_LIMIT})
