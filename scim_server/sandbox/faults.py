"""Fault injection: make chosen endpoints fail, slow down, or fail after doing their work.

These reproduce the failures the SDK's own retries get wrong (auth0.md §0.5): a 5xx or 429 storm,
slow answers, and the worst one, a user create that succeeds but answers 500, so a retry finds
"The user already exists.". Endpoints are chosen by name with shell-style patterns
(``users.create``, ``organizations.members.*``, ``*``).
"""

import fnmatch
import random
from dataclasses import dataclass


@dataclass
class Fault:
    """One injected behaviour for the endpoints matching ``endpoint``.

    ``times`` is how many more requests it applies to (``None``: until cleared); each matching
    request is affected with ``probability``. A fault with ``status`` ``None`` only adds latency.
    """

    endpoint: str
    status: int | None = 503
    times: int | None = 1
    probability: float = 1.0
    latency: float = 0.0
    after_success: bool = False
    retry_after: float = 1.0
    """For a 429, how far ahead ``X-RateLimit-Reset`` points."""


@dataclass(frozen=True)
class Verdict:
    """What the faults decided for one request: extra latency and, perhaps, a failure."""

    latency: float
    failure: Fault | None


class FaultInjector:
    """The faults in force, consulted once per Management API request."""

    def __init__(self, seed: int | None = None) -> None:
        self._faults: list[Fault] = []
        self._random = random.Random(seed)

    def add(self, fault: Fault) -> Fault:
        """Put a fault in force and return it."""
        self._faults.append(fault)
        return fault

    def fail(
        self, endpoint: str, *, status: int = 503, times: int | None = 1, probability: float = 1.0
    ) -> Fault:
        """Answer the next ``times`` matching requests with ``status`` (a percentage with ``probability``)."""
        return self.add(Fault(endpoint, status, times, probability))

    def fail_after_success(
        self, endpoint: str = "users.create", *, status: int = 500, times: int = 1
    ) -> Fault:
        """Do the work of the next matching requests, then answer ``status`` anyway."""
        return self.add(Fault(endpoint, status, times, after_success=True))

    def delay(self, endpoint: str, seconds: float, *, times: int | None = None) -> Fault:
        """Add ``seconds`` of latency to matching requests."""
        return self.add(Fault(endpoint, None, times, latency=seconds))

    def clear(self) -> None:
        """Remove every fault."""
        self._faults.clear()

    def draw(self, endpoint: str) -> Verdict:
        """Decide the latency and failure for one request to ``endpoint``, using up the faults."""
        latency = 0.0
        failure: Fault | None = None
        for fault in list(self._faults):
            if not fnmatch.fnmatchcase(endpoint, fault.endpoint):
                continue
            if fault.status is not None and failure is not None:
                continue
            if fault.probability < 1.0 and self._random.random() >= fault.probability:
                continue
            latency += fault.latency
            if fault.status is not None:
                failure = fault
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        return Verdict(latency, failure)
