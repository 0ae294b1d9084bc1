"""Figures of the reliability suite: collected by the tests, printed per family and saved as JSON.

Every family adds what it measured to ``FIGURES`` (one ``Family`` per family of the suite). A figure a family
does not measure stays ``None`` and is printed as ``-``: no column is a default zero. At the end of the pytest
session ``conftest.py`` prints one line per family (with the tests passed, failed and errored, set-up errors
included) and writes ``.last-summary.json`` next to this file from this session only (date, git commit, counts).

Token scans go through ``scan_for_token`` with ``Place`` objects: a place is one distinct artefact that could
have held the token (a log file, an XCom row, a non-empty table, an exception with all its texts, an object
with its reprs, a captured log). Scanning the same place twice counts it once; empty places are not counted;
a place marked ``counted=False`` (the raw SQLite file under its tables) is searched but not counted again.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUMMARY_PATH = Path(__file__).with_name(".last-summary.json")
REPO = Path(__file__).resolve().parents[2]
FAMILIES: dict[str, str] = {
    "faults": "faults survived",
    "crash": "crash and restart",
    "bad_input": "bad input",
    "secrets": "secrets",
}
#: The module of each family (the pass/fail tally of a family is the tally of its modules' tests).
MODULE_FAMILIES: dict[str, str] = {
    "test_faults_survived.py": "faults",
    "test_crash_and_restart.py": "crash",
    "test_bad_input.py": "bad_input",
    "test_secrets_scan.py": "secrets",
    "test_answer_fuzz.py": "secrets",
}
#: Injected by the emulator's fault plan: before its handler, then after it (the work done, the answer lost).
API_FAULTS = ("error_500", "error_503", "drop", "storm_429", "error_500_after", "drop_after", "latency_after")
AFTER_FAULTS = ("error_500_after", "drop_after", "latency_after")
#: Done to Airflow's processes by the tests.
PROCESS_FAULTS = ("task_sigkill", "task_sigkill_after_request", "triggerer_sigkill", "marked_failed")
ALL_FAULTS = (*API_FAULTS, *PROCESS_FAULTS)
KIND_NAMES = {
    "error_500": "500",
    "error_503": "503",
    "drop": "dropped",
    "storm_429": "429",
    "error_500_after": "500 after the handler",
    "drop_after": "dropped after the handler",
    "latency_after": "answer held after the handler",
    "task_sigkill": "task process SIGKILLed",
    "task_sigkill_after_request": "task process SIGKILLed between request and answer",
    "triggerer_sigkill": "triggerer SIGKILLed and restarted",
    "marked_failed": "deferred task marked failed",
}
PLACE_KINDS = ("log files", "captured logs", "XCom rows", "non-empty tables", "exceptions", "objects")
OUTCOMES = ("passed", "failed", "errors", "skipped")


@dataclass(frozen=True)
class Place:
    """One artefact that could have held the token: its kind (one of ``PLACE_KINDS``), a unique name, its text."""

    kind: str
    name: str
    text: str | bytes
    counted: bool = True  # False: searched, but already counted as other places (the raw DB file)

    def __post_init__(self) -> None:
        if self.kind not in PLACE_KINDS:
            raise ValueError(f"unknown place kind {self.kind!r}")


def _add(current: int | None, amount: int) -> int:
    return (current or 0) + int(amount)


def _show(value: int | None) -> str:
    return "-" if value is None else str(value)


@dataclass
class Family:
    """What one family of tests measured. ``None`` means "not measured" (printed ``-``)."""

    key: str
    title: str
    scenarios: int | None = None
    faults: Counter[str] | None = None  # every injected fault, by kind (timing-dependent for polled routes)
    write_faults: Counter[str] | None = None  # the faults on write calls, by kind (stable run to run)
    faults_survived: int | None = None
    latency_added: int | None = None
    bad_inputs: int | None = None
    bad_input_targets: Counter[str] = field(default_factory=Counter)  # where the bad inputs went
    duplicates: int | None = None  # flow runs beyond those the tasks asked for
    resources_twice: int | None = None  # resources created twice (recorded, not failed on yet)
    orphaned_jobs: int | None = None
    places: dict[str, str] = field(default_factory=dict)  # name -> kind, distinct, counted ones only
    scanned: bool = False
    leaks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tests: Counter[str] = field(default_factory=Counter)  # passed / failed / errors / skipped

    # -- recording -----------------------------------------------------------------------------------

    def add_scenarios(self, count: int = 1) -> None:
        self.scenarios = _add(self.scenarios, count)

    def add_bad_inputs(self, count: int = 1, target: str | None = None) -> None:
        """Count bad inputs tried; ``target`` says what answered them (e.g. "a canned server")."""
        self.bad_inputs = _add(self.bad_inputs, count)
        if target:
            self.bad_input_targets[target] += count

    def add_duplicates(self, runs: int, resources: int | None = None) -> None:
        self.duplicates = _add(self.duplicates, runs)
        if resources is not None:
            self.resources_twice = _add(self.resources_twice, resources)

    def add_orphans(self, count: int) -> None:
        self.orphaned_jobs = _add(self.orphaned_jobs, count)

    def add_faults(
        self, counters: Mapping[str, int], survived: bool, write_counters: Mapping[str, int] | None = None
    ) -> None:
        """Add the faults of one scenario (emulator kinds and process faults) and, when given, those of its write
        calls; count them as survived when the scenario met its checks."""
        injected = {kind: int(counters.get(kind, 0)) for kind in ALL_FAULTS}
        self.faults = (self.faults or Counter()) + Counter(injected)
        self.faults_survived = _add(self.faults_survived, sum(injected.values()) if survived else 0)
        if "latency" in counters:
            self.latency_added = _add(self.latency_added, int(counters["latency"]))
        if write_counters is not None:
            writes = Counter({kind: int(count) for kind, count in write_counters.items() if count})
            self.write_faults = (self.write_faults or Counter()) + writes

    def add_note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    # -- figures -------------------------------------------------------------------------------------

    @property
    def faults_total(self) -> int | None:
        """Injected faults (API faults before and after the handler, process kills); latency not counted."""
        return None if self.faults is None else sum(self.faults[kind] for kind in ALL_FAULTS)

    @property
    def write_faults_total(self) -> int | None:
        return None if self.write_faults is None else sum(self.write_faults.values())

    @property
    def token_scans(self) -> int | None:
        return len(self.places) if self.scanned else None

    @property
    def token_leaks(self) -> int | None:
        return len(self.leaks) if self.scanned else None

    def place_breakdown(self) -> dict[str, int]:
        kinds = Counter(self.places.values())
        return {kind: kinds[kind] for kind in PLACE_KINDS if kinds[kind]}

    def tests_text(self) -> str:
        return ", ".join(f"{self.tests[key]} {key}" for key in ("passed", "failed", "errors")) + (
            f", {self.tests['skipped']} skipped" if self.tests["skipped"] else ""
        )

    def _targets(self) -> str:
        if not self.bad_input_targets:
            return ""
        return " (" + ", ".join(f"{count} {target}" for target, count in sorted(self.bad_input_targets.items())) + ")"

    def line(self) -> str:
        """Return the summary line of this family: tests, headline figures, then the breakdowns."""
        faults = _show(self.faults_total)
        if self.write_faults is not None:
            faults += f" ({self.write_faults_total} on write calls)"
        line = (
            f"reliability {self.title}: {_show(self.scenarios)} scenarios ({self.tests_text()}), "
            f"{faults} faults injected, {_show(self.bad_inputs)} bad inputs tried{self._targets()}, "
            f"{_show(self.duplicates)} duplicate runs, {_show(self.resources_twice)} resources created twice, "
            f"{_show(self.orphaned_jobs)} orphaned jobs, "
            f"{_show(self.token_leaks)} token leaks ({_show(self.token_scans)} places scanned)"
        )
        if self.scanned:
            breakdown = ", ".join(f"{count} {kind}" for kind, count in self.place_breakdown().items())
            line += f"; places: {breakdown or 'none'}"
        if self.faults is not None and self.faults_total:
            mix = ", ".join(f"{KIND_NAMES[k]} {self.faults[k]}" for k in ALL_FAULTS if self.faults[k])
            line += f"; faults: {mix}, {self.faults_survived} survived"
        if self.write_faults:
            mix = ", ".join(f"{KIND_NAMES.get(k, k)} {n}" for k, n in sorted(self.write_faults.items()))
            line += f"; write calls faulted: {mix}"
        if self.latency_added:  # how many calls depends on polling, so only that there was
            line += "; latency added to every call"
        return line

    def as_dict(self) -> dict[str, Any]:
        """Return the figures as JSON-ready data (``null`` where the family does not measure a figure)."""
        return {
            "title": self.title,
            "tests": {key: self.tests[key] for key in OUTCOMES},
            "scenarios_run": self.scenarios,
            "faults_injected": self.faults_total,
            "fault_mix": None if self.faults is None else {kind: self.faults[kind] for kind in ALL_FAULTS},
            "write_faults": None if self.write_faults is None else dict(sorted(self.write_faults.items())),
            "write_faults_total": self.write_faults_total,
            "faults_survived": self.faults_survived,
            "latency_added_to_calls": self.latency_added,
            "bad_inputs_tried": self.bad_inputs,
            "bad_input_targets": dict(sorted(self.bad_input_targets.items())) or None,
            "duplicate_runs": self.duplicates,
            "resources_created_twice": self.resources_twice,
            "orphaned_jobs": self.orphaned_jobs,
            "places_scanned": self.token_scans,
            "places": self.place_breakdown() if self.scanned else None,
            "token_leaks": self.token_leaks,
            "leak_places": list(self.leaks),
            "notes": list(self.notes),
            "line": self.line(),
        }


def git_commit() -> dict[str, Any] | None:
    """Return the checkout's commit and whether the working tree differs from it (read-only git calls)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "--no-optional-locks", "diff", "--quiet", "HEAD", "--"], cwd=REPO, capture_output=True, timeout=30
        ).returncode
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty != 0} if commit else None


class Figures:
    """The figures of every family, filled in by the tests of one pytest session."""

    def __init__(self) -> None:
        self.families = {key: Family(key, title) for key, title in FAMILIES.items()}
        self.started = time.time()
        self._outcomes: dict[str, str] = {}  # nodeid -> passed | failed | errors | skipped
        self.collection_errors: list[str] = []

    def __getitem__(self, key: str) -> Family:
        return self.families[key]

    @staticmethod
    def family_of(nodeid: str) -> str | None:
        """Return the family of a reliability test id (or collector id), None for other tests."""
        path = nodeid.split("::", 1)[0]
        if "tests/reliability/" not in path and not path.startswith("reliability/"):
            return None
        return MODULE_FAMILIES.get(path.rsplit("/", 1)[-1])

    def tally(self, nodeid: str, when: str, outcome: str) -> None:
        """Record one phase of one test: a failed set-up or teardown is an error, the call decides otherwise."""
        if self.family_of(nodeid) is None:
            return
        current = self._outcomes.get(nodeid)
        if outcome == "failed" and when != "call":
            self._outcomes[nodeid] = "errors"
        elif when == "call" and current != "errors":
            self._outcomes[nodeid] = {"passed": "passed", "skipped": "skipped"}.get(outcome, "failed")
        elif when == "setup" and current is None:
            # a test whose set-up passed but whose call never reported is not a pass
            self._outcomes[nodeid] = "skipped" if outcome == "skipped" else "pending"

    def collection_error(self, nodeid: str) -> None:
        if self.family_of(nodeid) is not None and nodeid not in self.collection_errors:
            self.collection_errors.append(nodeid)

    @property
    def ran(self) -> bool:
        """True when any reliability test reported in this session (or a reliability module failed to load)."""
        return bool(self._outcomes or self.collection_errors)

    def settle(self) -> dict[str, int]:
        """Put each family's pass/fail tally in place; return the session's."""
        for each in self.families.values():
            each.tests.clear()
        total: Counter[str] = Counter()
        phases = [("errors" if outcome == "pending" else outcome, nodeid) for nodeid, outcome in self._outcomes.items()]
        phases += [("errors", nodeid) for nodeid in self.collection_errors]
        for outcome, nodeid in phases:
            key = self.family_of(nodeid)
            if key is not None:
                self.families[key].tests[outcome] += 1
                total[outcome] += 1
        return {key: total[key] for key in OUTCOMES}

    def lines(self) -> list[str]:
        """Return one summary line per family, then the places scanned in all families."""
        lines = [family.line() for family in self.families.values()]
        scanned = [f for f in self.families.values() if f.scanned]
        if scanned:
            lines.append(f"reliability token scans in all families: {sum(len(f.places) for f in scanned)} places")
        return lines

    def summary(self, exit_status: int) -> dict[str, Any]:
        """Return the JSON data of this session."""
        outcome = self.settle()
        return {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "seconds": round(time.time() - self.started, 1),
            "git": git_commit(),
            "outcome": {**outcome, "exit_status": int(exit_status)},
            "collection_errors": list(self.collection_errors),
            "families": {key: family.as_dict() for key, family in self.families.items()},
        }

    def write(self, path: Path = SUMMARY_PATH, exit_status: int = 0) -> dict[str, Any]:
        """Write this session's figures as JSON (replacing the previous session's); return them."""
        data = self.summary(exit_status)
        path.write_text(json.dumps(data, indent=2) + "\n")
        return data


FIGURES = Figures()


def scan_for_token(token: str, places: Iterable[Place], family: str) -> list[str]:
    """Look for ``token`` in each place; record the distinct non-empty places under ``family``; return the leaks.

    A place already scanned under the same name is counted once; an empty one is not counted at all.
    """
    needle = token.encode()
    figures = FIGURES[family]
    figures.scanned = True
    leaks: list[str] = []
    for place in places:
        text = place.text
        if not text:
            continue
        if place.counted:
            figures.places.setdefault(place.name, place.kind)
        if needle in text if isinstance(text, bytes) else token in text:
            leaks.append(place.name)
            if place.name not in figures.leaks:
                figures.leaks.append(place.name)
    return leaks


def exception_place(name: str, error: BaseException) -> Place:
    """One exception as one place: its str, repr, args, vars and formatted traceback together."""
    import traceback

    views = [
        str(error),
        repr(error),
        repr(error.args),
        repr(getattr(error, "__dict__", {})),
        "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    ]
    return Place("exceptions", name, "\n".join(views))
