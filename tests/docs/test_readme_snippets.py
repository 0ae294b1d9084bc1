"""Every Python snippet of the README runs as written: each block is executed inside a DAG (ids are filled
in already, mostly as templates), and every operator it builds holds arguments of the types it accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG, BaseOperator

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"(<!-- readme-example:\w+ \S+ -->\n)?```python\n(.*?)```", re.S)
# Blocks that are not DAG code: the deployment's task policy file and pytest modules (run by their own tests).
NOT_DAG_CODE = ("def task_policy", "pytest_plugins", "def test_")
PARSE_TIME_CONNECTION = '{"conn_type": "celigo", "password": "readme-token", "extra": {"region": "na"}}'


def snippets() -> list[str]:
    return [
        code
        for marker, code in BLOCK.findall(README.read_text())
        if not marker and not any(sign in code for sign in NOT_DAG_CODE)
    ]


def test_the_readme_has_dag_snippets() -> None:
    assert snippets() and all("Celigo" in code for code in snippets())


@pytest.mark.parametrize("index", range(len(snippets())))
def test_snippet_runs_inside_a_dag(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # As where a user's DAGs are parsed: the Celigo connection is defined (a flow asset names its API host).
    monkeypatch.setenv("AIRFLOW_CONN_CELIGO_DEFAULT", PARSE_TIME_CONNECTION)
    code = snippets()[index]
    namespace: dict[str, Any] = {}
    with DAG(dag_id=f"readme_snippet_{index}", schedule=None, catchup=False) as dag:
        exec(compile(code, f"README snippet {index}", "exec"), namespace)
    tasks = [task for task in dag.tasks if isinstance(task, BaseOperator)] or [
        value for value in namespace.values() if isinstance(value, BaseOperator)
    ]
    for task in tasks:
        connection_map = getattr(task, "connection_map", None)
        assert connection_map is None or isinstance(connection_map, (dict, str)), (task.task_id, connection_map)
        for field in ("body", "changes", "entries"):
            value = getattr(task, field, None)
            assert not isinstance(value, set), (task.task_id, field)
