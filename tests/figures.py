"""Figures that tests measured, printed at the end of ``make test`` (``pytest_terminal_summary`` in tests/conftest.py).

Tests record each figure with ``record(name, text, section=...)``; nothing is printed for tests that did not run.
Sections: the event-trigger, asset and lineage tests, and the pool-cap deployment.
"""

from __future__ import annotations

EVENTS = "events, assets and lineage"
POOL_CAP = "pool cap deployment"
FIGURES: dict[str, dict[str, str]] = {}
ORDER = (
    "watchers_listing",
    "deployment_runs",
    "deployment_restart",
    "deployment_asset_schedule",
    "deployment_listing",
    "lineage",
)


def record(name: str, text: str, section: str = EVENTS) -> None:
    """Keep one figure line under ``name`` in ``section`` (a later record of the same name replaces it)."""
    FIGURES.setdefault(section, {})[name] = text


def summary_sections() -> dict[str, list[str]]:
    """Return each section's recorded figures, in a fixed order (then any others)."""
    sections: dict[str, list[str]] = {}
    for section, figures in FIGURES.items():
        names = [name for name in ORDER if name in figures] + sorted(set(figures) - set(ORDER))
        sections[section] = [f"{name}: {figures[name]}" for name in names]
    return sections
