"""What the emulator saw: the request log and the requests-in-flight counters."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["InFlight", "RequestLog", "RequestRecord"]


@dataclass
class RequestRecord:
    """One API request as logged by the middleware."""

    method: str
    path: str
    query: str
    time: str
    user_agent: str
    account: str | None = None
    status: int | None = None
    duration_ms: float = 0.0
    masked_secret_written: bool = False
    fault: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the record as a JSON-ready dict."""
        return asdict(self)


class RequestLog:
    """The most recent API requests (a bounded deque)."""

    def __init__(self, size: int) -> None:
        self.records: deque[RequestRecord] = deque(maxlen=size)

    def add(self, record: RequestRecord) -> None:
        """Append a request once its answer starts to leave (or once it ended without one)."""
        self.records.append(record)

    def clear(self) -> None:
        """Forget every record."""
        self.records.clear()

    def as_list(self) -> list[dict[str, Any]]:
        """Return the records, oldest first."""
        return [r.as_dict() for r in self.records]


class InFlight:
    """Counts API requests being handled now, their peak, per user agent too, and the total."""

    def __init__(self) -> None:
        self.current = 0
        self.by_agent: Counter[str] = Counter()
        self.reset_all()

    def reset_all(self) -> None:
        """Zero the total and restart the peaks (requests still in flight stay counted)."""
        self.total = 0
        self.reset_peaks()

    def reset_peaks(self) -> None:
        """Make the peaks equal to the current values."""
        self.peak = self.current
        self.peak_by_agent = {agent: n for agent, n in self.by_agent.items() if n > 0}

    def enter(self, agent: str) -> None:
        """Count a request that starts."""
        self.current += 1
        self.total += 1
        self.peak = max(self.peak, self.current)
        self.by_agent[agent] += 1
        self.peak_by_agent[agent] = max(self.peak_by_agent.get(agent, 0), self.by_agent[agent])

    def leave(self, agent: str) -> None:
        """Count a request that ended."""
        self.current -= 1
        self.by_agent[agent] -= 1
