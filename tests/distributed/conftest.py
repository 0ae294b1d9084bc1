"""End-of-session summary of the distributed deployment test: its ``distributed:`` line with what it measured."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from distributed_report import summary_lines  # noqa: E402


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the distributed deployment's figures when its test measured them in this session."""
    lines = summary_lines()
    if lines:
        terminalreporter.write_sep("=", "distributed deployment")
        for line in lines:
            terminalreporter.write_line(line)
