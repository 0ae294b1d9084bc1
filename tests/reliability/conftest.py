"""Fixtures of the reliability suite and its end-of-session summary.

- ``reliability_template_db`` (session): one migrated Airflow SQLite DB, copied into each private home.
- ``pytest_runtest_logreport`` / ``pytest_collectreport``: the pass/fail/error tally per family (a failed
  set-up or teardown, or a module that fails to load, is an error; a test is a pass only when its call passed).
- ``pytest_terminal_summary``: prints one line per family (tests, scenarios, faults injected and survived, bad
  inputs, duplicate runs, resources created twice, orphaned jobs, token leaks and the places scanned; ``-``
  where a family does not measure a figure) and writes them to ``tests/reliability/.last-summary.json``
  whenever a reliability test reported in this session, so an old summary never outlives a broken run.
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


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Tally every phase of every reliability test (set-up and teardown failures count as errors)."""
    FIGURES.tally(report.nodeid, report.when, report.outcome)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A reliability module that cannot be collected is an error of its family."""
    if report.failed:
        FIGURES.collection_error(report.nodeid)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the reliability figures per family and save them, when reliability tests ran in this session."""
    if not FIGURES.ran:
        return
    data = FIGURES.write(SUMMARY_PATH, int(exitstatus))
    terminalreporter.write_sep("=", "reliability summary")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
    for family in FIGURES.families.values():
        for note in family.notes:
            terminalreporter.write_line(f"  {family.key}: {note}")
    outcome = data["outcome"]
    git = data["git"] or {}
    commit = f"{git['commit'][:12]}{' (with local changes)' if git.get('dirty') else ''}" if git else "unknown"
    terminalreporter.write_line(
        f"reliability tests: {outcome['passed']} passed, {outcome['failed']} failed, {outcome['errors']} errors"
        f"{', ' + str(outcome['skipped']) + ' skipped' if outcome['skipped'] else ''}; commit {commit}; "
        f"figures saved to {SUMMARY_PATH.relative_to(HERE.parent.parent)} ({data['generated_at']})"
    )
