"""Auth0's rate limiting: a token bucket, and the ``X-RateLimit-*`` headers (auth0.md §5.2).

Auth0 refills a per-second bucket continuously; ``X-RateLimit-Limit`` is the bucket size,
``X-RateLimit-Remaining`` the whole tokens left and ``X-RateLimit-Reset`` the UTC epoch second when
the bucket is full again. Without a configured rate the bucket never empties but the headers are
still sent, as they are on every real response.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

#: The bucket size reported when no limit is configured.
UNLIMITED_BURST = 1000


@dataclass(frozen=True)
class Admission:
    """The outcome of one request against the bucket, and the headers that report it."""

    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        """Return the ``X-RateLimit-*`` headers Auth0 sends on every response."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class TokenBucket:
    """A token bucket holding ``burst`` tokens and refilled at ``rps`` tokens per second."""

    def __init__(self, *, rps: float | None, burst: int | None, clock: Callable[[], float]) -> None:
        self.rps = rps
        self.burst = burst or (max(1, math.ceil(rps)) if rps else UNLIMITED_BURST)
        self._clock = clock
        self._tokens = float(self.burst)
        self._updated = clock()

    def admit(self) -> Admission:
        """Take one token if there is one, and report the bucket's state either way."""
        now = self._clock()
        if self.rps is None:
            return Admission(True, self.burst, self.burst, math.ceil(now))
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rps)
        self._updated = now
        allowed = self._tokens >= 1
        if allowed:
            self._tokens -= 1
        reset = math.ceil(now + (self.burst - self._tokens) / self.rps)
        return Admission(allowed, self.burst, math.floor(self._tokens), reset)

    def exhausted(self, retry_after: float) -> Admission:
        """Report an empty bucket that refills in ``retry_after`` seconds (for injected 429s)."""
        return Admission(False, self.burst, 0, math.ceil(self._clock() + retry_after))
