"""Lineage, assets and the event trigger cost nothing at import: OpenLineage is loaded only when it calls."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import importlib, json, sys
import airflow.sdk  # Airflow itself reads every provider's metadata (also OpenLineage's) here
before = set(sys.modules)
for name in ("airflow_provider_celigo.operators.flows", "airflow_provider_celigo.assets",
             "airflow_provider_celigo.triggers.events", "airflow_provider_celigo.sensors.errors"):
    importlib.import_module(name)
print(json.dumps(sorted(name for name in set(sys.modules) - before if "openlineage" in name)))
"""


def test_importing_the_operators_loads_no_openlineage(tmp_path: object) -> None:
    answer = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"AIRFLOW_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    assert json.loads(answer.stdout.strip().splitlines()[-1]) == []
