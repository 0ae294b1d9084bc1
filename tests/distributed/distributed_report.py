"""Figures of the distributed deployment test, printed at the end of the pytest session by ``conftest.py``."""

from __future__ import annotations

from typing import Any

#: Filled by the test: the keys of ``LINE_KEYS`` (measured), plus ``kills``: one sentence per kill.
FIGURES: dict[str, Any] = {}
LINE_KEYS = ("executor", "hosts", "workers", "triggerers", "tasks", "runs_per_flow", "peak_running", "level")


def summary_lines() -> list[str]:
    """Return the ``distributed: key=value ...`` line and one line per kill; nothing when the test did not run."""
    if not FIGURES:
        return []
    line = "distributed: " + " ".join(f"{key}={FIGURES.get(key, '-')}" for key in LINE_KEYS)
    return [line, *(f"distributed kill: {kill}" for kill in FIGURES.get("kills", []))]
