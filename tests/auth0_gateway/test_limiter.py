"""The rate limiter on an injected clock: no real sleeping."""

import itertools

import anyio
import pytest

from scim_server.auth0_gateway import RateLimiter

pytestmark = pytest.mark.anyio


class FakeClock:
    """Monotonic and wall time that advance only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.epoch_offset = 1_700_000_000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now + self.epoch_offset

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await anyio.lowlevel.checkpoint()


async def test_calls_are_spaced_at_max_rps_after_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(max_rps=5, burst=2, clock=clock)
    starts = []
    for _ in range(12):
        await limiter.acquire()
        starts.append(clock.now - 1_000.0)
    assert starts[:2] == [0.0, 0.0]
    assert starts[-1] == pytest.approx(10 / 5)
    for earlier, later in itertools.pairwise(starts[1:]):
        assert later - earlier == pytest.approx(0.2)


async def test_concurrent_callers_share_one_budget() -> None:
    clock = FakeClock()
    limiter = RateLimiter(max_rps=10, burst=1, clock=clock)
    starts: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        starts.append(clock.now)

    async with anyio.create_task_group() as group:
        for _ in range(30):
            group.start_soon(call)
    starts.sort()
    for window_start in starts:
        in_window = [s for s in starts if window_start <= s < window_start + 1.0]
        assert len(in_window) <= 1 + 10


async def test_a_429_pauses_everyone_until_the_reset() -> None:
    clock = FakeClock()
    limiter = RateLimiter(max_rps=100, clock=clock)
    await limiter.acquire()
    limiter.observe(429, {"X-RateLimit-Reset": str(int(clock.time()) + 4)})
    before = clock.now
    await limiter.acquire()
    assert clock.now - before >= 4 - 1


async def test_retry_after_wins_over_the_reset_header() -> None:
    clock = FakeClock()
    limiter = RateLimiter(max_rps=100, clock=clock)
    limiter.observe(429, {"retry-after": "2", "x-ratelimit-reset": str(int(clock.time()) + 30)})
    before = clock.now
    await limiter.acquire()
    assert clock.now - before == pytest.approx(2.0, abs=0.05)


async def test_no_remaining_tokens_pause_until_the_reset() -> None:
    clock = FakeClock()
    limiter = RateLimiter(max_rps=100, clock=clock)
    limiter.observe(
        200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(clock.time()) + 3)}
    )
    before = clock.now
    await limiter.acquire()
    assert clock.now - before >= 2


async def test_remaining_tokens_do_not_pause() -> None:
    clock = FakeClock()
    limiter = RateLimiter(max_rps=100, clock=clock)
    limiter.observe(
        200, {"x-ratelimit-remaining": "5", "x-ratelimit-reset": str(int(clock.time()) + 3)}
    )
    before = clock.now
    await limiter.acquire()
    assert clock.now == before


async def test_a_429_without_hints_pauses_a_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(max_rps=100, clock=clock)
    limiter.observe(429, {})
    before = clock.now
    await limiter.acquire()
    assert clock.now - before == pytest.approx(1.0, abs=0.05)


def test_a_non_positive_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(max_rps=0, clock=FakeClock())
