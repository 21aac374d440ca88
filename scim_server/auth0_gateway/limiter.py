"""One process-wide limiter that keeps Management API calls under the configured budget.

A token bucket refilled at ``max_rps`` and holding ``burst`` tokens: over any ``t`` seconds at most
``burst + max_rps * t`` calls start, the same rule Auth0's own bucket applies (auth0.md §5.2). It also
listens to Auth0: when ``X-RateLimit-Remaining`` reaches 0, or a 429 arrives, everyone waits until
``Retry-After`` or ``X-RateLimit-Reset``, and the bucket restarts empty so that the first calls
after the pause do not burst into the limit again.

Waiters queue on one lock, so they start in arrival order and a pause stops them all.
"""

import math
from collections.abc import Mapping

import anyio

from scim_server.auth0_gateway.clock import Clock

#: How long to pause after a 429 that names no time.
DEFAULT_PAUSE = 1.0
#: The longest pause any header can impose (the SDK caps its own waits at 60 s too).
MAX_PAUSE = 60.0
#: Refills are float sums; a token short by less than this counts as whole (else 0.2 * 5 = 0.999…
#: would ask for a sleep too small to move the clock, forever).
_EPSILON = 1e-9


def retry_after(headers: Mapping[str, str], *, now: float) -> float | None:
    """Return the wait Auth0 asked for: ``Retry-After`` seconds, else ``X-RateLimit-Reset`` minus now.

    >>> retry_after({"retry-after": "3"}, now=0)
    3.0
    >>> retry_after({"x-ratelimit-reset": "105"}, now=100.5)
    4.5
    >>> retry_after({}, now=0) is None
    True
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        if "retry-after" in lowered:
            return min(max(float(lowered["retry-after"]), 0.0), MAX_PAUSE)
        if "x-ratelimit-reset" in lowered:
            return min(max(float(lowered["x-ratelimit-reset"]) - now, 0.0), MAX_PAUSE)
    except ValueError:
        return None
    return None


class RateLimiter:
    """A token bucket shared by every call the gateway makes.

    :param max_rps: Sustained calls per second.
    :param burst: Bucket size; default ``max_rps`` rounded up (at least 1).
    :param clock: Time source; tests pass a fake one.
    """

    def __init__(self, *, max_rps: float, burst: float | None = None, clock: Clock) -> None:
        if max_rps <= 0:
            raise ValueError("max_rps must be positive")
        self._rate = max_rps
        self._capacity = burst if burst is not None else max(1.0, math.ceil(max_rps))
        self._clock = clock
        self._tokens = self._capacity
        self._updated = clock.monotonic()
        self._paused_until = 0.0
        self._lock = anyio.Lock()

    async def acquire(self) -> None:
        """Wait for a token (and for any pause Auth0 imposed) and take it."""
        async with self._lock:
            while True:
                now = self._clock.monotonic()
                self._refill(now)
                wait = self._paused_until - now
                if wait <= 0:
                    if self._tokens >= 1 - _EPSILON:
                        self._tokens = max(0.0, self._tokens - 1)
                        return
                    wait = (1 - self._tokens) / self._rate
                await self._clock.sleep(wait)

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
        self._updated = max(self._updated, now)

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learn from an answer: pause everyone on a 429 or when Auth0 says no tokens remain."""
        lowered = {k.lower(): v for k, v in headers.items()}
        if status == 429:
            self.pause(retry_after(lowered, now=self._clock.time()) or DEFAULT_PAUSE)
        elif lowered.get("x-ratelimit-remaining") == "0":
            wait = retry_after(
                {"x-ratelimit-reset": lowered.get("x-ratelimit-reset", "")}, now=self._clock.time()
            )
            if wait:
                self.pause(wait)

    def pause(self, seconds: float) -> None:
        """Start no call for ``seconds``; the bucket restarts empty after the pause."""
        until = self._clock.monotonic() + min(seconds, MAX_PAUSE)
        if until > self._paused_until:
            self._paused_until = until
            self._tokens = 0.0
            self._updated = until
