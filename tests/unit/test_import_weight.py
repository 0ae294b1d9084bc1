"""Importing the DAG-facing modules stays light: no server stack, no emulator, no socket, no connection look-up.

A correctness check run in a fresh interpreter; the import time and memory are measured in
``benchmarks/bench_parse_time.py``, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

DAG_MODULES = (
    "airflow_provider_celigo.operators.flows",
    "airflow_provider_celigo.operators.resources",
    "airflow_provider_celigo.operators.integrations",
    "airflow_provider_celigo.sensors.jobs",
    "airflow_provider_celigo.triggers.jobs",
)
FORBIDDEN = ("fastapi", "uvicorn", "airflow_provider_celigo.testing.emulator")

PROBE = """
import importlib, json, socket, sys

opened = []

class RecordingSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        opened.append(repr(args))
        super().__init__(*args, **kwargs)

socket.socket = RecordingSocket
import airflow.sdk
from airflow_provider_celigo._compat import BaseHook  # the class the provider looks connections up with

looked_up = []
original = BaseHook.get_connection.__func__

def recording_get_connection(cls, conn_id):
    looked_up.append(conn_id)
    return original(cls, conn_id)

BaseHook.get_connection = classmethod(recording_get_connection)
opened.clear()
baseline = sorted(sys.modules)
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps({"opened": opened, "looked_up": looked_up, "loaded": sorted(sys.modules), "baseline": baseline}))
"""


def test_dag_modules_import_without_server_stack_sockets_or_connections(tmp_path: object) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CONN_")}
    env["AIRFLOW_HOME"] = str(tmp_path)
    answer = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(DAG_MODULES)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr[-2000:]
    result = json.loads(answer.stdout.strip().splitlines()[-1])
    loaded = set(result["loaded"])
    assert set(DAG_MODULES) <= loaded
    # What the DAG modules added: on Airflow 3.0, ``import airflow.sdk`` itself loads fastapi (its comms models).
    added = loaded - set(result["baseline"])
    assert [name for name in FORBIDDEN if name in added] == []
    assert [name for name in loaded if name.startswith("airflow_provider_celigo.testing.emulator")] == []
    assert result["opened"] == [], "importing the DAG modules opened a socket"
    assert result["looked_up"] == [], "importing the DAG modules looked up a connection"
