"""When a failed reconcile runs again: exponential backoff with jitter, and never giving up.

DESIGN §6: retries are ours (the SDK runs with ``max_retries=0``). A task that Auth0 could not
serve (429, 5xx, timeout) comes back after ``max(retry_after, backoff)``, where the backoff
doubles per attempt from ``base`` up to ``cap`` with "equal jitter" (half fixed, half random), so
that a burst of failures does not return as a burst. A task Auth0 *refused* (4xx) would fail the
same way right away, so it comes back at the slow cadence only: someone has to fix a role name
or a connection first, and the task must still be there when they do. Nothing is ever dropped.

Pure: the random source is a parameter, so tests pin the jitter.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How long a failed task waits before its next attempt.

    :param base: The first delay, in seconds.
    :param cap: The longest delay for a transient failure.
    :param slow: The cadence of tasks that keep failing (refusals, or past ``error_after``).
    :param error_after: Transient failures tolerated before the link shows state ``error``.
    """

    base: float = 1.0
    cap: float = 300.0
    slow: float = 900.0
    error_after: int = 5

    def transient_delay(
        self, attempts: int, *, retry_after: float | None, random: Callable[[], float]
    ) -> float:
        """Return the wait after the ``attempts``-th transient failure in a row (1 = the first).

        Auth0's own hint (``Retry-After`` or ``X-RateLimit-Reset``) is a floor, never shortened.

        >>> policy = RetryPolicy(base=1.0, cap=300.0)
        >>> [policy.transient_delay(n, retry_after=None, random=lambda: 0.0) for n in (1, 2, 3)]
        [0.5, 1.0, 2.0]
        >>> policy.transient_delay(1, retry_after=7.5, random=lambda: 1.0)
        7.5
        >>> policy.transient_delay(40, retry_after=None, random=lambda: 1.0)
        300.0
        """
        exponent = min(max(attempts, 1) - 1, 30)
        ceiling = min(self.cap, self.base * 2.0**exponent)
        jittered = ceiling / 2 + random() * ceiling / 2
        return max(retry_after or 0.0, jittered)

    def refused_delay(self, *, random: Callable[[], float]) -> float:
        """Return the wait after Auth0 refused a step: the slow cadence, spread by ±10%.

        >>> RetryPolicy(slow=900.0).refused_delay(random=lambda: 0.5)
        900.0
        """
        return self.slow * (0.9 + 0.2 * random())

    def is_error(self, attempts: int) -> bool:
        """Tell whether this many transient failures in a row make the link show ``error``.

        >>> RetryPolicy(error_after=5).is_error(4), RetryPolicy(error_after=5).is_error(5)
        (False, True)
        """
        return attempts >= self.error_after
