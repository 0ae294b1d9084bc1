"""Fixtures of the reliability suite and its end-of-session summary.

- ``reliability_template_db`` (session): one migrated Airflow SQLite DB, copied into each private home.
- ``pytest_terminal_summary``: prints one line per family (scenarios, faults injected and survived, bad inputs,
  duplicates, orphaned jobs, token leaks) and writes them to ``tests/reliability/.last-summary.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from report import FIGURES, SUMMARY_PATH  # noqa: E402


@pytest.fixture(scope="session")
def reliability_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite metadata DB, made once per session (``airflow db migrate``)."""
    from airflow_provider_celigo.testing.dags import migrate_template_db

    return migrate_template_db(tmp_path_factory.mktemp("reliability-template"))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the reliability figures per family and save them, when reliability tests ran."""
    if not FIGURES.used:
        return
    stats = terminalreporter.stats
    reliability = [
        report
        for key in ("passed", "failed", "error")
        for report in stats.get(key, [])
        if getattr(report, "when", "call") == "call" and "tests/reliability/" in getattr(report, "nodeid", "")
    ]
    outcome = {
        "passed": sum(1 for r in reliability if r.outcome == "passed"),
        "failed": sum(1 for r in reliability if r.outcome == "failed"),
        "exit_status": int(exitstatus),
    }
    terminalreporter.write_sep("=", "reliability summary")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
    for family in FIGURES.families.values():
        for note in family.notes:
            terminalreporter.write_line(f"  {family.key}: {note}")
    FIGURES.write(SUMMARY_PATH, outcome)
    terminalreporter.write_line(f"(figures saved to {SUMMARY_PATH.relative_to(HERE.parent.parent)})")
