"""The project ships the Apache License 2.0 text it declares in pyproject.toml."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# SHA-256 of https://www.apache.org/licenses/LICENSE-2.0.txt
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


def test_license_file_is_the_apache_2_text() -> None:
    text = (ROOT / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_SHA256
    assert b"Apache License\n                           Version 2.0, January 2004" in text


def test_pyproject_declares_apache_2_and_ships_the_file() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()  # no tomllib: Python 3.10 is supported
    assert re.search(r'^license = "Apache-2.0"$', pyproject, re.MULTILINE)
    # setuptools >= 77 ships LICEN[CS]E* by default; an explicit list must keep LICENSE in it.
    files = re.search(r"^license-files = \[(.*)\]$", pyproject, re.MULTILINE)
    assert files is None or '"LICENSE"' in files.group(1)
