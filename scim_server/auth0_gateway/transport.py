"""An httpx transport that puts every Management API request through the rate limiter.

Wrapping the transport, rather than each SDK call, also covers the extra page requests an SDK
pager makes while it is iterated.
"""

import httpx

from scim_server.auth0_gateway.limiter import RateLimiter


class RateLimitedTransport(httpx.AsyncBaseTransport):
    """Waits for the limiter before each request and lets it read each answer's headers."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limiter: RateLimiter) -> None:
        self._inner = inner
        self._limiter = limiter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request once the limiter allows it."""
        await self._limiter.acquire()
        response = await self._inner.handle_async_request(request)
        self._limiter.observe(response.status_code, response.headers)
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()
