"""The README's "Test your own DAGs" example, run exactly as written: its DAG file and its test, extracted from
the README into a fresh folder, then ``pytest`` on that folder in a subprocess (as a user's suite would run)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(r"<!-- readme-example:(\w+) (\S+) -->\n```python\n(.*?)```", re.S)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


def examples() -> dict[str, tuple[str, str]]:
    """Return ``{kind: (relative path, code)}`` of the README's marked examples."""
    return {kind: (path, code) for kind, path, code in EXAMPLE.findall(README.read_text())}


def test_the_readme_marks_a_dag_and_its_test() -> None:
    assert set(examples()) == {"dag", "test"}


def test_the_readme_testing_example_passes_as_written(tmp_path: Path) -> None:
    for path, code in examples().values():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=360,
    )
    took = time.monotonic() - began
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout, done.stdout[-2000:]
    print(f"README testing example: 1 DAG test passed in {took:.1f}s (database migration included)")
