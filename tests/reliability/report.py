"""Figures of the reliability suite: collected by the tests, printed per family and saved as JSON.

Every test adds what it measured to ``FIGURES`` (one ``Family`` per family of the suite). At the end of the
pytest session ``conftest.py`` prints one line per family and writes ``.last-summary.json`` next to this file.
Token scans go through ``scan_for_token`` so that each family counts its own scans and leaks.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUMMARY_PATH = Path(__file__).with_name(".last-summary.json")
FAMILIES: dict[str, str] = {
    "faults": "faults survived",
    "crash": "crash and restart",
    "bad_input": "bad input",
    "secrets": "secrets",
}
FAULT_KINDS = ("error_500", "error_503", "drop", "storm_429")  # injected by the emulator's fault plan
PROCESS_FAULTS = ("task_sigkill", "triggerer_sigkill", "marked_failed")  # done to Airflow's processes by the tests
_KIND_NAMES = {
    "error_500": "500",
    "error_503": "503",
    "drop": "dropped",
    "storm_429": "429",
    "task_sigkill": "task process SIGKILLed",
    "triggerer_sigkill": "triggerer SIGKILLed and restarted",
    "marked_failed": "deferred task marked failed",
}


@dataclass
class Family:
    """What one family of tests measured."""

    key: str
    title: str
    scenarios: int = 0
    faults_injected: Counter[str] = field(default_factory=Counter)
    faults_survived: int = 0
    latency_added: int = 0
    bad_inputs: int = 0
    duplicates: int = 0
    orphaned_jobs: int = 0
    token_scans: int = 0
    token_leaks: int = 0
    leak_places: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def faults_total(self) -> int:
        """Injected faults (500, 503, drops, 429s, process kills), latency not counted."""
        return sum(self.faults_injected[kind] for kind in (*FAULT_KINDS, *PROCESS_FAULTS))

    def add_faults(self, counters: Mapping[str, int], survived: bool) -> None:
        """Add the fault counters of one scenario (emulator kinds and process faults); count them as survived
        when the scenario met its checks."""
        injected = {kind: int(counters.get(kind, 0)) for kind in (*FAULT_KINDS, *PROCESS_FAULTS)}
        self.faults_injected.update(injected)
        self.latency_added += int(counters.get("latency", 0))
        if survived:
            self.faults_survived += sum(injected.values())

    def line(self) -> str:
        """Return the summary line of this family: the six headline figures, then the fault mix if any."""
        line = (
            f"reliability {self.title}: {self.scenarios} scenarios run, {self.faults_total} faults injected, "
            f"{self.bad_inputs} bad inputs tried, {self.duplicates} duplicates found, "
            f"{self.orphaned_jobs} orphaned jobs, {self.token_leaks} token leaks ({self.token_scans} places scanned)"
        )
        if self.faults_total:
            kinds = [kind for kind in (*FAULT_KINDS, *PROCESS_FAULTS) if self.faults_injected[kind]]
            mix = ", ".join(f"{_KIND_NAMES[kind]} {self.faults_injected[kind]}" for kind in kinds)
            line += f"; faults: {mix}, {self.faults_survived} survived"
        if self.latency_added:
            line += f", latency added to {self.latency_added} calls"
        return line

    def as_dict(self) -> dict[str, Any]:
        """Return the figures as JSON-ready data."""
        return {
            "title": self.title,
            "scenarios_run": self.scenarios,
            "faults_injected": self.faults_total,
            "fault_mix": {kind: self.faults_injected[kind] for kind in (*FAULT_KINDS, *PROCESS_FAULTS)},
            "faults_survived": self.faults_survived,
            "latency_added_to_calls": self.latency_added,
            "bad_inputs_tried": self.bad_inputs,
            "duplicates_found": self.duplicates,
            "orphaned_jobs": self.orphaned_jobs,
            "token_scans": self.token_scans,
            "token_leaks": self.token_leaks,
            "leak_places": list(self.leak_places),
            "notes": list(self.notes),
            "line": self.line(),
        }


class Figures:
    """The figures of every family, filled in by the tests of one pytest session."""

    def __init__(self) -> None:
        self.families = {key: Family(key, title) for key, title in FAMILIES.items()}
        self.started = time.time()

    def __getitem__(self, key: str) -> Family:
        return self.families[key]

    @property
    def used(self) -> bool:
        """True when any test recorded anything."""
        return any(f.scenarios or f.bad_inputs or f.token_scans for f in self.families.values())

    def lines(self) -> list[str]:
        """Return one summary line per family."""
        return [family.line() for family in self.families.values()]

    def write(self, path: Path = SUMMARY_PATH, outcome: Mapping[str, Any] | None = None) -> None:
        """Write the figures (and the session's outcome) as JSON."""
        data = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(time.time() - self.started, 1),
            "outcome": dict(outcome or {}),
            "families": {key: family.as_dict() for key, family in self.families.items()},
        }
        path.write_text(json.dumps(data, indent=2) + "\n")


FIGURES = Figures()


def scan_for_token(
    token: str, places: Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]], family: str
) -> list[str]:
    """Look for ``token`` in each named text; record the scan under ``family`` and ``secrets``; return the leaks.

    A place is one artefact a run left behind (a log, an XCom table, an exception text, a repr).
    """
    items = list(places.items()) if isinstance(places, Mapping) else list(places)
    needle = token.encode()
    leaks = [name for name, text in items if (needle in text if isinstance(text, bytes) else token in text)]
    for key in {family, "secrets"}:
        figures = FIGURES[key]
        figures.token_scans += len(items)
        figures.token_leaks += len(leaks)
        figures.leak_places.extend(leaks)
    return leaks
