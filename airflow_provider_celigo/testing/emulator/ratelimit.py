"""Leaky-bucket rate limiting per account (integrator.io: bucket 1000, refill 300 per second)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

__all__ = ["RateLimiter"]


@dataclass
class LeakyBucket:
    """A bucket of request tokens that refills continuously in real time."""

    size: float
    refill_per_second: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; return 0.0 when allowed, else the seconds until a token is available."""
        self.tokens = min(self.size, self.tokens + (now - self.updated) * self.refill_per_second)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.refill_per_second


class RateLimiter:
    """One leaky bucket per account, all with the same size and refill rate."""

    def __init__(self, size: int, refill_per_second: float) -> None:
        self.configure(size, refill_per_second)

    def configure(self, size: int, refill_per_second: float) -> None:
        """Set size and refill rate; every bucket starts full again."""
        self.size = size
        self.refill_per_second = refill_per_second
        self.buckets: dict[str, LeakyBucket] = {}

    def take(self, account: str) -> int | None:
        """Take a token for ``account``; return None when allowed, else Retry-After in whole seconds (>= 1)."""
        now = time.monotonic()
        bucket = self.buckets.get(account)
        if bucket is None:
            bucket = self.buckets[account] = LeakyBucket(self.size, self.refill_per_second, self.size, now)
        wait = bucket.take(now)
        if wait <= 0.0:
            return None
        return max(1, math.ceil(wait))
