"""Metrics of the Management API calls one gateway makes, by endpoint template and status.

Counted at the HTTP transport, under the rate limiter, so that every request is seen once as
Auth0 saw it: the pages a pager fetches, the token requests, and each answer's real status
(a 429 is counted as such, even though the caller only sees an ``Auth0Unavailable``). The
latency is Auth0's, without the time spent waiting for the limiter. Paths become templates
(``/organizations/{id}/members``) so that user and organization ids never become labels.
The collectors are not registered anywhere: the web layer exposes them on ``/metrics``.
"""

import time
from collections.abc import Iterable

import httpx
from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

NAMED_SEGMENTS = frozenset(
    {
        "api",
        "v2",
        "oauth",
        "token",
        "users",
        "users-by-email",
        "organizations",
        "name",
        "members",
        "roles",
        "invitations",
        "connections",
        "enabled_connections",
        "sessions",
        "refresh-tokens",
        "revoke-access",
        "scim-configuration",
        "default-mapping",
        "tokens",
        "connections-scim-configurations",
        "scim",
        "Users",
        "Groups",
    }
)
"""The Management API's fixed path segments; any other segment is an id (or a name)."""

LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds; Auth0 answers in tens to hundreds of milliseconds, the gateway times out at 10 s."""


def endpoint_template(path: str, *, base_path: str = "") -> str:
    """Return the path of a Management API request with its ids replaced by ``{id}``.

    :param base_path: The path of ``AUTH0_MANAGEMENT_URL`` (a proxy may add one), removed first.

    >>> endpoint_template("/api/v2/organizations/org_Xy1/members/auth0%7C42/roles")
    '/api/v2/organizations/{id}/members/{id}/roles'
    >>> endpoint_template("/api/v2/organizations/name/acme")
    '/api/v2/organizations/name/{id}'
    >>> endpoint_template("/auth0/oauth/token", base_path="/auth0")
    '/oauth/token'
    """
    if base_path and path.startswith(base_path.rstrip("/") + "/"):
        path = path[len(base_path.rstrip("/")) :]
    segments = [s if s in NAMED_SEGMENTS else "{id}" for s in path.split("/") if s]
    return "/" + "/".join(segments)


class Auth0Metrics(Collector):
    """Counters and a latency histogram of Management API requests, as Prometheus collectors."""

    def __init__(self) -> None:
        labels = ("endpoint", "method", "status")
        self.requests = Counter(
            "scim_server_auth0_requests",
            "Auth0 Management API requests, by endpoint template, method and status "
            "('error' when no answer came: timeout or network failure).",
            labels,
            registry=None,
        )
        self.rate_limited = Counter(
            "scim_server_auth0_rate_limited",
            "Auth0 answers 429 Too Many Requests, by endpoint template.",
            ("endpoint",),
            registry=None,
        )
        self.latency = Histogram(
            "scim_server_auth0_request_duration_seconds",
            "Time Auth0 took to answer, by endpoint template and method (limiter wait excluded).",
            ("endpoint", "method"),
            buckets=LATENCY_BUCKETS,
            registry=None,
        )

    def observe(self, *, endpoint: str, method: str, status: str, seconds: float) -> None:
        """Count one request and its latency."""
        self.requests.labels(endpoint, method, status).inc()
        self.latency.labels(endpoint, method).observe(seconds)
        if status == "429":
            self.rate_limited.labels(endpoint).inc()

    def collect(self) -> Iterable[Metric]:
        """Yield the current values (the Prometheus ``Collector`` protocol)."""
        for metric in (self.requests, self.rate_limited, self.latency):
            yield from metric.collect()


class MeteredTransport(httpx.AsyncBaseTransport):
    """Counts every request it sends into :class:`Auth0Metrics`."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, metrics: Auth0Metrics, *, base_path: str = ""
    ) -> None:
        self._inner = inner
        self._metrics = metrics
        self._base_path = base_path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request and count it, with ``error`` as its status when it failed."""
        endpoint = endpoint_template(request.url.path, base_path=self._base_path)
        started = time.monotonic()
        status = "error"
        try:
            response = await self._inner.handle_async_request(request)
            status = str(response.status_code)
            return response
        finally:
            self._metrics.observe(
                endpoint=endpoint,
                method=request.method,
                status=status,
                seconds=time.monotonic() - started,
            )

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()
