"""The client-credentials token cache, on httpx.MockTransport and an injected clock."""

import anyio
import httpx
import pytest

from scim_server.auth0_gateway import Auth0Rejected
from scim_server.auth0_gateway import Auth0Unavailable
from scim_server.auth0_gateway.token import ClientCredentialsToken
from tests.auth0_gateway.test_limiter import FakeClock

pytestmark = pytest.mark.anyio


class TokenEndpoint:
    def __init__(
        self, status: int = 200, expires_in: int = 100, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.expires_in = expires_in
        self.headers = headers or {}
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await anyio.sleep(0.01)
        if self.status != 200:
            return httpx.Response(
                self.status, json={"error": "invalid_client"}, headers=self.headers
            )
        body = {
            "access_token": f"token-{len(self.requests)}",
            "expires_in": self.expires_in,
            "token_type": "Bearer",
        }
        return httpx.Response(200, json=body)


def cache_for(endpoint: TokenEndpoint, clock: FakeClock) -> ClientCredentialsToken:
    return ClientCredentialsToken(
        http=httpx.AsyncClient(transport=httpx.MockTransport(endpoint)),
        token_url="https://tenant.test/oauth/token",
        client_id="id",
        client_secret="secret",
        audience="https://tenant.test/api/v2/",
        clock=clock,
    )


async def test_the_request_is_a_form_encoded_client_credentials_grant() -> None:
    endpoint = TokenEndpoint()
    await cache_for(endpoint, FakeClock()).get()
    [request] = endpoint.requests
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert b"grant_type=client_credentials" in request.content
    assert b"audience=https%3A%2F%2Ftenant.test%2Fapi%2Fv2%2F" in request.content


async def test_concurrent_callers_share_one_fetch() -> None:
    endpoint = TokenEndpoint()
    cache = cache_for(endpoint, FakeClock())
    tokens: list[str] = []

    async def get() -> None:
        tokens.append(await cache.get())

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(get)
    assert tokens == ["token-1"] * 10
    assert len(endpoint.requests) == 1


async def test_the_token_is_refreshed_before_it_expires() -> None:
    endpoint, clock = TokenEndpoint(expires_in=100), FakeClock()
    cache = cache_for(endpoint, clock)
    assert await cache.get() == "token-1"
    clock.now += 49
    assert await cache.get() == "token-1"
    clock.now += 2
    assert await cache.get() == "token-2"


async def test_invalidate_forces_a_new_fetch() -> None:
    endpoint = TokenEndpoint()
    cache = cache_for(endpoint, FakeClock())
    await cache.get()
    cache.invalidate()
    assert await cache.get() == "token-2"


async def test_refused_credentials_are_rejected() -> None:
    with pytest.raises(Auth0Rejected) as caught:
        await cache_for(TokenEndpoint(status=401), FakeClock()).get()
    assert caught.value.error_code == "invalid_client"


async def test_a_rate_limited_token_endpoint_is_unavailable_with_retry_after() -> None:
    endpoint = TokenEndpoint(status=429, headers={"retry-after": "7"})
    with pytest.raises(Auth0Unavailable) as caught:
        await cache_for(endpoint, FakeClock()).get()
    assert caught.value.retry_after == 7.0
