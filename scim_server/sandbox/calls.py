"""The emulator's call log, so tests can count Auth0 calls per joiner, mover and leaver."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CallRecord:
    """One request as the emulator answered it."""

    at: float
    method: str
    path: str
    endpoint: str
    status: int


class CallLog:
    """Every request answered, in order (the admin surface excluded)."""

    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def record(self, record: CallRecord) -> None:
        """Append one answered request."""
        self.records.append(record)

    def count(self, endpoint: str | None = None, *, status: int | None = None) -> int:
        """Count the calls to an endpoint name (all when ``None``), optionally with one status."""
        return sum(
            1 for r in self.records if endpoint in (None, r.endpoint) and status in (None, r.status)
        )

    def clear(self) -> None:
        """Forget every call so far."""
        self.records.clear()
