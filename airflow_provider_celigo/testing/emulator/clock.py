"""The emulated clock: emulated seconds advance ``speed`` times faster than real seconds."""

from __future__ import annotations

import threading
import time

__all__ = ["Clock"]


class Clock:
    """A monotonic emulated clock whose speed can change without jumps."""

    def __init__(self, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._speed = speed
        self._real_origin = time.monotonic()
        self._emulated_origin = time.time()

    @property
    def speed(self) -> float:
        """Return the current speed (emulated seconds per real second)."""
        return self._speed

    def now(self) -> float:
        """Return the emulated time as epoch seconds."""
        return self._emulated_origin + (time.monotonic() - self._real_origin) * self._speed

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on; emulated time stays continuous. Raises ValueError if <= 0."""
        if speed <= 0:
            raise ValueError("clock_speed must be > 0")
        with self._lock:
            self._emulated_origin = self.now()
            self._real_origin = time.monotonic()
            self._speed = speed

    def advance(self, seconds: float) -> None:
        """Jump the emulated time forward by ``seconds`` (a retry delay, an hour, ...). Raises ValueError if < 0."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._emulated_origin += seconds

    def emulated(self, real_seconds: float) -> float:
        """Return how many emulated seconds ``real_seconds`` real seconds are at the current speed."""
        return real_seconds * self._speed
