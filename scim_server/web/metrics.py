"""``GET /metrics``: Prometheus metrics of this process and of the sync queue (DESIGN §9).

Every label has few values, so that no client can grow the series without bound: requests are
counted by route *template* (``Users/{id}``, never an id), by the organization only once its
token was accepted (a request with an unknown org key or a bad token has ``org=""``), by
method and status. The queue gauges are read from the database at each scrape with
:func:`~scim_server.support.status.queue_status` (every organization together), so every
replica reports the same shared queue; the counters are this process's own (sum them across
replicas). The Auth0 and worker counters come from the gateway and the worker of this process.

The endpoint is not authenticated, like ``/healthz``: keep it on the internal network (the
organization keys are labels).
"""

import logging
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime

from prometheus_client import Counter
from prometheus_client import Histogram
from prometheus_client import PlatformCollector
from prometheus_client import ProcessCollector
from prometheus_client import start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scim_server.auth0_gateway.metrics import Auth0Metrics
from scim_server.provisioning.metrics import WorkerMetrics
from scim_server.storage.database import Database
from scim_server.support.status import QueueStatus
from scim_server.support.status import queue_status
from scim_server.web.logs import Completed

log = logging.getLogger(__name__)

SCIM_ROUTE_PREFIX = "/scim/v2/{org}"
SCIM_COLLECTIONS = ("Users", "Groups", "ResourceTypes", "Schemas")
"""SCIM endpoints whose single resources have their own path (RFC 7644 §3.2)."""
SCIM_SINGLETONS = ("Bulk", "ServiceProviderConfig", ".search")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds: SCIM requests are database work only (Auth0 is called by the worker, later)."""


def scim_route(path: str) -> str:
    """Return the template of a SCIM path below ``/scim/v2/{org}/``.

    >>> [scim_route(p) for p in ["Users", "Users/2819c223", "Groups/.search", "", "Bulk"]]
    ['Users', 'Users/{id}', 'Groups/.search', '/', 'Bulk']
    >>> scim_route("Schemas/urn:ietf:params:scim:schemas:core:2.0:User"), scim_route("etc/passwd")
    ('Schemas/{id}', 'other')
    """
    parts = [part for part in path.split("/") if part]
    if not parts:
        return "/"
    head, *rest = parts
    if not rest and head in SCIM_COLLECTIONS + SCIM_SINGLETONS:
        return head
    if len(rest) == 1 and head in SCIM_COLLECTIONS:
        return f"{head}/.search" if rest[0] == ".search" else f"{head}/{{id}}"
    return "other"


def route_of(done: Completed) -> str:
    """Return the template of a completed request's route, ``unmatched`` when none matched."""
    route = done.scope.get("route")
    template: str | None = getattr(route, "path", None)
    if template is None:
        return "unmatched"
    if template.startswith(SCIM_ROUTE_PREFIX):
        return scim_route(done.scope.get("path_params", {}).get("path", ""))
    # A mounted app's routes are relative to its mount, which is in root_path.
    return str(done.scope.get("root_path", "")) + template


def collectors_of(*, gateway: object, worker: object) -> list[Collector]:
    """Return the metrics the Auth0 gateway and the worker of this process keep, if any."""
    found = [getattr(gateway, "metrics", None), getattr(worker, "metrics", None)]
    return [metrics for metrics in found if isinstance(metrics, Auth0Metrics | WorkerMetrics)]


class HttpMetrics(Collector):
    """Requests served by this process, by organization, route, method and status."""

    def __init__(self) -> None:
        self.requests = Counter(
            "scim_server_http_requests",
            "HTTP requests served, by organization (empty until a token is accepted), "
            "route template, method and status.",
            ("org", "route", "method", "status"),
            registry=None,
        )
        self.latency = Histogram(
            "scim_server_http_request_duration_seconds",
            "Time to answer HTTP requests, by route template and method.",
            ("route", "method"),
            buckets=LATENCY_BUCKETS,
            registry=None,
        )

    def observe(self, done: Completed) -> None:
        """Count one completed request (the :class:`~scim_server.web.logs.RequestMiddleware` hook)."""
        route = route_of(done)
        org = done.context.org or ""
        self.requests.labels(org, route, done.method, str(done.status)).inc()
        self.latency.labels(route, done.method).observe(done.seconds)

    def collect(self) -> Iterable[Metric]:
        """Yield the current values (the Prometheus ``Collector`` protocol)."""
        yield from self.requests.collect()
        yield from self.latency.collect()


class QueueGauges(Collector):
    """One scrape's reading of the sync queue, or ``scim_server_database_up 0`` without one."""

    def __init__(self, status: QueueStatus | None) -> None:
        self.status = status

    def collect(self) -> Iterable[Metric]:
        """Yield the gauges of the reading."""
        yield GaugeMetricFamily(
            "scim_server_database_up",
            "1 when this scrape could read the sync queue from the database, else 0.",
            value=0 if self.status is None else 1,
        )
        if self.status is None:
            return
        status = self.status
        yield GaugeMetricFamily(
            "scim_server_sync_queue_depth",
            "Sync tasks queued (one per user with work pending in Auth0).",
            value=status.depth,
        )
        yield GaugeMetricFamily(
            "scim_server_sync_queue_due",
            "Sync tasks due now; a number that keeps growing means the workers lag.",
            value=status.due,
        )
        yield GaugeMetricFamily(
            "scim_server_sync_tasks_in_error",
            "Sync tasks whose last reconcile failed (retried with back-off).",
            value=status.in_error,
        )
        age = status.oldest_due_age
        yield GaugeMetricFamily(
            "scim_server_sync_oldest_due_age_seconds",
            "How long the oldest due sync task has waited (0 when none is due).",
            value=0.0 if age is None else age.total_seconds(),
        )
        links = GaugeMetricFamily(
            "scim_server_identity_links", "Identity links by provisioning state.", labels=["state"]
        )
        for state, count in sorted(status.links_by_state.items()):
            links.add_metric([state], count)
        yield links


class Scrape(Collector):
    """Everything one scrape reports: the process's collectors and one queue reading."""

    def __init__(self, collectors: Sequence[Collector]) -> None:
        self.collectors = collectors

    def collect(self) -> Iterable[Metric]:
        """Yield the metrics of every collector."""
        for collector in self.collectors:
            yield from collector.collect()


class MetricsEndpoint:
    """Serves ``/metrics`` from this process's collectors and a fresh reading of the queue."""

    def __init__(self, *, database: Database, collectors: Sequence[Collector]) -> None:
        self.database = database
        # The standard process_* (CPU, memory, file descriptors) and python_info series too.
        self.collectors = [
            *collectors,
            ProcessCollector(registry=None),
            PlatformCollector(registry=None),
        ]

    async def read_queue(self) -> QueueStatus | None:
        """Read the queue of every organization; ``None`` when the database cannot be read."""
        try:
            async with self.database.session() as session:
                return await queue_status(session, now=datetime.now(UTC))
        except Exception as error:  # any failure: the scrape still reports the counters
            log.warning("/metrics cannot read the sync queue: %s", type(error).__name__)
            return None

    async def serve(self, request: Request) -> Response:
        """Answer one scrape, in the format the scraper asks for (Prometheus text by default)."""
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        scrape = Scrape([*self.collectors, QueueGauges(await self.read_queue())])
        return Response(encode(scrape), headers={"Content-Type": content_type})

    def route(self) -> Route:
        """Return the route of the endpoint."""
        return Route("/metrics", self.serve, methods=["GET"])


def serve_process_metrics(
    *, host: str, port: int, collectors: Sequence[Collector]
) -> Callable[[], None]:
    """Serve collectors (and the process series) at ``http://host:port/`` from a thread.

    For ``scim-server worker``, which serves no HTTP of its own: its Auth0 and retry counters.
    The queue gauges are not here (they read the database asynchronously): any ``serve``
    reports them for the shared queue.

    :raises OSError: When the port cannot be listened on.
    :return: The function that stops serving.
    """
    everything = Scrape(
        [*collectors, ProcessCollector(registry=None), PlatformCollector(registry=None)]
    )
    server, thread = start_http_server(port, addr=host, registry=everything)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return stop
