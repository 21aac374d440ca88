"""A fake clock for the worker: time moves only when slept on or advanced (no real sleeps)."""


class FakeClock:
    """Time that moves only when slept on or advanced."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # At 1.8e9 a float moves in steps of 2.4e-7: a smaller sleep would not move time.
        self.now += max(seconds, 0.001)

    def advance(self, seconds: float) -> None:
        self.now += seconds
