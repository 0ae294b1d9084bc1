"""Object ids and timestamps in the shapes integrator.io uses."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import time
from datetime import datetime, timezone

__all__ = ["is_object_id", "iso", "new_id", "parse_time", "stable_id"]

OBJECT_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")

_PROCESS_PART = os.urandom(5).hex()
_COUNTER = itertools.count(int.from_bytes(os.urandom(3), "big"))


def new_id() -> str:
    """Return a fresh 24-hex id shaped like a MongoDB ObjectId (time, process, counter)."""
    seconds = int(time.time()) & 0xFFFFFFFF
    return f"{seconds:08x}{_PROCESS_PART}{next(_COUNTER) & 0xFFFFFF:06x}"


def is_object_id(value: object) -> bool:
    """Return True when ``value`` is a 24-hex string."""
    return isinstance(value, str) and OBJECT_ID_RE.match(value) is not None


def stable_id(seed: str) -> str:
    """Return a deterministic 24-hex id derived from ``seed`` (used for user ids)."""
    return hashlib.sha1(seed.encode()).hexdigest()[:24]


def iso(timestamp: float) -> str:
    """Return ``timestamp`` (epoch seconds) as ISO-8601 UTC with milliseconds and ``Z``."""
    millis = round(timestamp * 1000)
    moment = datetime.fromtimestamp(millis // 1000, tz=timezone.utc)
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.{millis % 1000:03d}Z"


def parse_time(value: str) -> float:
    """Return epoch seconds for an ISO-8601 date/time or an epoch-milliseconds string.

    Raises ValueError when the value is neither.
    """
    text = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text) / 1000.0
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
