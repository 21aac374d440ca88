"""Our own cached client-credentials token for the Management API (auth0.md §1).

The SDK's ``AsyncManagementClient`` refreshes its token with a *blocking* HTTP call inside the
event loop and forces ``https://``, so we fetch the token ourselves with ``httpx.AsyncClient`` and
hand the SDK an async supplier. The token is reused until shortly before it expires (M2M tokens
count against a plan quota), and concurrent callers share one fetch (single-flight).
"""

import base64
import binascii
import json

import anyio
import httpx

from scim_server.auth0_gateway.clock import Clock
from scim_server.auth0_gateway.errors import Auth0Rejected
from scim_server.auth0_gateway.errors import Auth0Unavailable
from scim_server.auth0_gateway.limiter import retry_after

#: Refresh this long before expiry (capped at half the lifetime for short-lived tokens).
REFRESH_LEEWAY = 300.0


class ClientCredentialsToken:
    """A Management API access token, fetched on demand and refreshed before it expires.

    :param http: The client to POST with; the gateway owns and closes it.
    :param token_url: ``{management_url}/oauth/token``.
    :param audience: ``{management_url}/api/v2/``.
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        audience: str,
        clock: Clock,
    ) -> None:
        self._http = http
        self._url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": audience,
        }
        self._clock = clock
        self._token = ""
        self._scopes: frozenset[str] | None = None
        self._refresh_at = 0.0
        self._lock = anyio.Lock()

    def peek(self) -> str:
        """Return the cached token without fetching (the SDK insists on a sync supplier too)."""
        return self._token

    @property
    def scopes(self) -> frozenset[str] | None:
        """The scopes of the current token (its ``scope`` field or claim); ``None`` when unsaid."""
        return self._scopes

    def invalidate(self) -> None:
        """Forget the token, so the next call fetches a new one (after a 401 from the API)."""
        self._refresh_at = 0.0

    async def get(self) -> str:
        """Return a valid token, fetching one first if needed; one fetch serves all waiters.

        :raises Auth0Rejected: The credentials or the audience were refused (4xx).
        :raises Auth0Unavailable: The token endpoint was unreachable, slow, 429 or 5xx.
        """
        if self._clock.monotonic() < self._refresh_at:
            return self._token
        async with self._lock:
            if self._clock.monotonic() >= self._refresh_at:
                await self._fetch()
        return self._token

    async def _fetch(self) -> None:
        try:
            response = await self._http.post(self._url, data=self._form)
        except httpx.HTTPError as error:
            raise Auth0Unavailable(f"POST /oauth/token failed: {type(error).__name__}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise Auth0Unavailable(
                f"POST /oauth/token answered {response.status_code}",
                status=response.status_code,
                retry_after=retry_after(response.headers, now=self._clock.time()),
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            code = body.get("error") if isinstance(body, dict) else None
            raise Auth0Rejected(
                f"POST /oauth/token answered {response.status_code} {code or ''}".strip(),
                status=response.status_code,
                error_code=code,
            )
        lifetime = float(body.get("expires_in", 86_400))
        self._token = str(body["access_token"])
        self._scopes = _scopes_of(body.get("scope"), self._token)
        self._refresh_at = self._clock.monotonic() + lifetime - min(REFRESH_LEEWAY, lifetime / 2)


def _scopes_of(granted: object, token: str) -> frozenset[str] | None:
    """Return the scopes a token answer grants: its ``scope`` field, else the JWT's claim.

    Auth0 sends ``scope`` with the token, but some answers leave it out (auth0.md §1); the
    Management API token is a JWT whose payload carries the same ``scope`` (read, not verified:
    it only tells ``scim-server doctor`` what to expect, and Auth0 enforces it).

    >>> sorted(_scopes_of("read:users create:users", "opaque"))
    ['create:users', 'read:users']
    >>> _scopes_of(None, "opaque") is None
    True
    """
    if isinstance(granted, str):
        return frozenset(granted.split())
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    scope = claims.get("scope") if isinstance(claims, dict) else None
    return frozenset(scope.split()) if isinstance(scope, str) else None
