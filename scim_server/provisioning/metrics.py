"""Metrics of the provisioning worker: how often a reconcile fails and is tried again.

A retry is the worker rescheduling a task because its reconcile failed, labelled by why:
``unavailable`` (Auth0 answered 429 or 5xx, or did not answer: retried with back-off),
``refused`` (Auth0 refused a call: retried at the slow cadence, the link shows ``error``) and
``internal`` (a bug of ours, logged with its traceback). A task due again only to check an
invitation later is not a retry. The collector is not registered anywhere: the web layer
exposes it on ``/metrics``.
"""

from collections.abc import Iterable
from typing import Literal

from prometheus_client import Counter
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

RetryReason = Literal["unavailable", "refused", "internal"]


class WorkerMetrics(Collector):
    """The worker's counters, as a Prometheus collector."""

    def __init__(self) -> None:
        self.retries = Counter(
            "scim_server_sync_retries",
            "Sync tasks rescheduled after a failed reconcile, by reason "
            "(unavailable: Auth0 429/5xx/no answer; refused: Auth0 4xx; internal: a bug).",
            ("reason",),
            registry=None,
        )
        for reason in ("unavailable", "refused", "internal"):
            self.retries.labels(reason)  # exported as 0 before the first failure

    def count_retry(self, reason: RetryReason) -> None:
        """Count one rescheduled task."""
        self.retries.labels(reason).inc()

    def collect(self) -> Iterable[Metric]:
        """Yield the current values (the Prometheus ``Collector`` protocol)."""
        yield from self.retries.collect()
