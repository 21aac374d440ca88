import httpx
import pytest

from scim_server.sandbox import Emulator
from tests.sandbox.conftest import CLIENT_ID
from tests.sandbox.conftest import CLIENT_SECRET
from tests.sandbox.conftest import FakeClock

pytestmark = pytest.mark.anyio

GRANT = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


async def test_form_encoded_grant_issues_a_jwt_looking_bearer_token(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.post("/oauth/token", data={**GRANT, "audience": "https://t/api/v2/"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86_400
    assert len(body["access_token"].split(".")) == 3


async def test_json_grant_tolerates_an_explicit_null_organization(
    anonymous: httpx.AsyncClient,
) -> None:
    """GetToken.client_credentials sends "organization": null (auth0.md §1)."""
    response = await anonymous.post(
        "/oauth/token", json={**GRANT, "organization": None, "audience": "https://t/api/v2/"}
    )
    assert response.status_code == 200
    assert response.json()["access_token"]


async def test_opaque_tokens_when_asked() -> None:
    emulator = Emulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, jwt_tokens=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator), base_url="http://t"
    ) as client:
        token = (await client.post("/oauth/token", json=GRANT)).json()["access_token"]
    assert "." not in token


async def test_a_wrong_secret_is_401_invalid_client(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post("/oauth/token", data={**GRANT, "client_secret": "nope"})
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }


async def test_another_grant_type_is_400_unsupported_grant_type(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.post("/oauth/token", data={**GRANT, "grant_type": "password"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_management_calls_without_a_bearer_are_401(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/api/v2/roles")
    assert response.status_code == 401
    assert response.json() == {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "Invalid token.",
    }


async def test_an_expired_token_is_401(api: httpx.AsyncClient, clock: FakeClock) -> None:
    assert (await api.get("roles")).status_code == 200
    clock.advance(86_401)
    assert (await api.get("roles")).status_code == 401


async def test_the_token_endpoint_is_logged(
    anonymous: httpx.AsyncClient, emulator: Emulator
) -> None:
    await anonymous.post("/oauth/token", data=GRANT)
    assert emulator.calls.count("oauth.token", status=200) == 1
    assert emulator.tokens.issued == 1
