"""Request limits: per organization on SCIM, per caller on the admin API, per address on failures.

Three token buckets (burst = bucket size, sustained rate = refill), all answering 429 with
``Retry-After`` (RFC 6585 §4; RFC 7644 §3.12 lets a service provider use other HTTP statuses):

- **SCIM, per organization** (``SCIM_RATE_LIMIT`` requests/s, ``SCIM_RATE_BURST``), counted
  only once the token is checked, so that nobody without the organization's token can spend
  its budget, nor tell from a 429 that it exists; the answer is a SCIM Error body.
- **Admin API, per caller** (the operator token's name or the Auth0 subject), same numbers,
  answered in JSON.
- **Authentication failures, per client address** (``SCIM_AUTH_FAILURE_LIMIT`` per minute,
  as many in a burst): every 401 of SCIM, the admin API or the login hook spends one; an
  address that spent them all is answered 429 before its token is even read, until the bucket
  refills. On SCIM the key is the address *and* the organization of the URL: Okta and Entra
  call from address ranges shared by all their customers, so one customer's expired token
  must not lock the others out.

The defaults never hurt a real IdP: Microsoft asks SCIM apps to sustain at least 25
requests/s per tenant (idp-quirks §5.7) and Okta documents no rate of its own (it pages
imports 100 users a request); 100 requests/s with bursts of 500 leaves four times Entra's
floor. Each limit is turned off with 0.

The buckets live in this process: N replicas behind a load balancer allow up to N times the
numbers, which is acceptable for a limit whose job is to stop a runaway or hostile client, not
to meter. Behind a proxy, the client address is the one uvicorn takes from ``X-Forwarded-For``
for the addresses in ``FORWARDED_ALLOW_IPS``.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from starlette.responses import JSONResponse
from starlette.responses import Response
from starlette.types import ASGIApp
from starlette.types import Message
from starlette.types import Receive
from starlette.types import Scope
from starlette.types import Send

from scim_server.config import Settings
from scim_server.web.errors import TooManyRequestsException
from scim_server.web.errors import scim_error

MAX_KEYS = 10_000
"""Buckets kept before idle ones are dropped (:meth:`RateLimiter._forget`): addresses are unbounded."""

Clock = Callable[[], float]


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Token buckets by key: ``burst`` tokens each, refilled at ``rate`` per second.

    A limiter whose rate is 0 is off: it admits everything and keeps nothing.
    """

    rate: float
    burst: int
    clock: Clock = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict, init=False, repr=False)

    @property
    def is_on(self) -> bool:
        """Tell whether the limiter limits anything."""
        return self.rate > 0 and self.burst > 0

    def take(self, key: str) -> int | None:
        """Spend one token of ``key``'s bucket.

        :return: ``None`` when there was one; else the whole seconds until there is.
        """
        retry_after = self.wait(key)
        if retry_after is None and self.is_on:
            self._buckets[key].tokens -= 1
        return retry_after

    def wait(self, key: str) -> int | None:
        """Return the whole seconds until ``key`` has a token, or ``None`` when it has one now."""
        if not self.is_on:
            return None
        bucket = self._refilled(key)
        if bucket.tokens >= 1:
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self.rate))

    def _refilled(self, key: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_KEYS:
                self._forget(now)
            bucket = self._buckets[key] = _Bucket(tokens=self.burst, updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def _forget(self, now: float) -> None:
        """Drop the buckets that refilled since their last use: they hold nothing to remember.

        When none did (requests from more than :data:`MAX_KEYS` addresses at once), the oldest
        quarter goes, so that memory and this scan stay bounded.
        """
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.burst:
                del self._buckets[key]
        if len(self._buckets) >= MAX_KEYS:
            for key in list(self._buckets)[: MAX_KEYS // 4]:
                del self._buckets[key]


@dataclass(frozen=True)
class RateLimits:
    """The limiters of one application (see the module docstring)."""

    per_org: RateLimiter
    """SCIM requests of one organization."""
    per_caller: RateLimiter
    """Admin API requests of one caller."""
    failures: RateLimiter
    """Authentication failures of one client address (and organization, on SCIM)."""

    @classmethod
    def of(cls, settings: Settings, *, clock: Clock = time.monotonic) -> "RateLimits":
        """Build the limiters the settings ask for."""
        failures = settings.auth_failure_limit
        return cls(
            per_org=RateLimiter(settings.rate_limit, settings.rate_burst, clock),
            per_caller=RateLimiter(settings.rate_limit, settings.rate_burst, clock),
            failures=RateLimiter(failures / 60, math.ceil(failures), clock),
        )


def admit(limiter: RateLimiter, key: str) -> None:
    """Spend a request of ``key``'s budget.

    :raises TooManyRequestsException: When it has none left, with the seconds to wait.
    """
    retry_after = limiter.take(key)
    if retry_after is not None:
        raise TooManyRequestsException(
            retry_after=retry_after, detail=f"Request limit reached; retry in {retry_after} s"
        )


SCIM_ROOT = "/scim/v2/"
GUARDED_ROOTS = (SCIM_ROOT, "/admin/api/", "/hooks/")


def failure_key(scope: Scope) -> str | None:
    """Return whose failures a request counts with, or ``None`` for a path not guarded.

    >>> failure_key({"path": "/scim/v2/acme/Users", "client": ("10.0.0.7", 5000)})
    '10.0.0.7 /scim/v2/acme'
    >>> failure_key({"path": "/admin/api/me", "client": ("10.0.0.7", 5000)})
    '10.0.0.7 /admin/api/'
    >>> failure_key({"path": "/healthz", "client": None}) is None
    True
    """
    path: str = scope["path"]
    root = next((root for root in GUARDED_ROOTS if path.startswith(root)), None)
    if root is None:
        return None
    client = scope.get("client")
    address = client[0] if client else "unknown"
    if root == SCIM_ROOT:
        org = path[len(SCIM_ROOT) :].split("/", 1)[0]
        return f"{address} {SCIM_ROOT}{org}"
    return f"{address} {root}"


class AuthFailureThrottle:
    """ASGI middleware: a client address that failed authentication too often gets 429s.

    Every 401 answered under a guarded path spends a token of the address's bucket; while it
    is empty, requests are answered 429 without being served (module docstring).
    """

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a throttled address, or serve the request and count a 401."""
        key = failure_key(scope) if scope["type"] == "http" else None
        if key is None or not self.limiter.is_on:
            await self.app(scope, receive, send)
            return
        retry_after = self.limiter.wait(key)
        if retry_after is not None:
            detail = "Too many failed authentications from this address; retry later"
            await throttled(scope["path"], retry_after, detail)(scope, receive, send)
            return

        async def count_failure(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.limiter.take(key)
            await send(message)

        await self.app(scope, receive, count_failure)


def throttled(path: str, retry_after: int, detail: str) -> Response:
    """Return the 429 of a path: a SCIM Error under ``/scim/v2/``, JSON elsewhere."""
    headers = {"Retry-After": str(retry_after)}
    if path.startswith(SCIM_ROOT):
        return scim_error(429, detail, headers)
    return JSONResponse({"error": detail}, 429, headers=headers)
