"""Time for the gateway, injectable so that tests of the limiter and token cache never sleep."""

import time
from typing import Protocol

import anyio


class Clock(Protocol):
    """Monotonic time for intervals, wall time for Auth0's epoch headers, and sleeping."""

    def monotonic(self) -> float:
        """Return seconds on a clock that never goes back."""
        ...

    def time(self) -> float:
        """Return the UTC epoch in seconds (``X-RateLimit-Reset`` is an epoch second)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()

    def time(self) -> float:
        """Return :func:`time.time`."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """Sleep with anyio, so the event loop keeps running."""
        await anyio.sleep(seconds)
