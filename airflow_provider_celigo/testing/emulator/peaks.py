"""Peak overlap of time intervals, per key (used for "peak running jobs")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable

__all__ = ["peak_overlap"]


def peak_overlap(intervals: Iterable[tuple[Hashable, float, float]]) -> dict[Hashable, int]:
    """Return, per key, the largest number of ``[start, end)`` intervals open at the same time.

    An interval ending exactly when another starts does not overlap it.
    """
    events: dict[Hashable, list[tuple[float, int]]] = defaultdict(list)
    for key, start, end in intervals:
        if end > start:
            events[key].append((start, 1))
            events[key].append((end, -1))
    peaks: dict[Hashable, int] = {}
    for key, items in events.items():
        items.sort()  # at equal times -1 sorts before +1
        current = best = 0
        for _, delta in items:
            current += delta
            best = max(best, current)
        peaks[key] = best
    return peaks
