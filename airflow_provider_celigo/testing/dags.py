"""Run ``airflow dags test`` in a private Airflow home and read back what happened.

``airflow dags test`` runs a whole DAG run in one process, with no scheduler, triggerer or API server:
tasks run one after another through the in-process Execution API, and a deferred task's trigger runs in
line. Retries run too (honouring ``retry_delay``), and the
task state store works across tries. This harness gives each test its own ``AIRFLOW_HOME`` with a SQLite
database copied from one migrated per test session, runs the command in a subprocess bounded by a timeout
(killed with its whole process group when it overruns) and then reads the outcome:

- task instance states and try numbers from the ``task_instance`` table,
- XComs from the ``xcom`` table (JSON-decoded),
- task logs. ``airflow dags test`` writes no task log files under ``AIRFLOW_HOME/logs``: it prints every
  task's log to its own output, framed by ``[DAG TEST] starting task_id=.. map_index=..`` and
  ``[DAG TEST] end task ..`` lines. The harness reads stdout and stderr as one stream (Airflow 3.1 prints the
  markers to stderr) and cuts it at those lines (one section per try, including
  the in-line trigger's lines) and also reads any files that do appear in the log folder
  (``dag_id=<dag>/run_id=<run>/task_id=<task>/attempt=<n>.log``, Airflow's default layout).

It ships with the provider so that users can test their own Celigo DAGs the same way, against the local
emulator (``airflow_provider_celigo.testing``). Usage (our fixtures are in ``tests/e2e/conftest.py``)::

    def test_my_dag(airflow_home):
        airflow_home.set_connection("celigo_default", {"conn_type": "celigo", "password": "...", "extra": {...}})
        result = airflow_home.dags_test("my_dag", DAGS / "my_dag.py", conf={"x": 1}, timeout=90)
        assert result.state("my_task") == "success"
        assert result.xcom("my_task", key="celigo_job_id")
        assert "Celigo job" in result.log("my_task")
        assert "secret" not in airflow_home.all_logs_text()

Outside the fixtures: ``template = migrate_template_db(folder)`` once, then ``AirflowHome(root, template)``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AirflowHome",
    "DagTestResult",
    "HarnessError",
    "TaskResult",
    "clean_environ",
    "copy_sqlite",
    "migrate_template_db",
]


# Not in exceptions.py: that module imports Airflow, and importing Airflow here would read (and create) the
# caller's own AIRFLOW_HOME before the harness has made the private one.
class HarnessError(RuntimeError):
    """Setting up the Airflow home or migrating its database failed."""


AIRFLOW_BIN = str(Path(sys.executable).with_name("airflow"))
KILL_GRACE_SECONDS = 5.0
_MARKER = re.compile(r"\[DAG TEST\] (starting task_id|end task task_id)=(\S+) map_index=(-?\d+)")


def clean_environ() -> dict[str, str]:
    """Return this process's environment without Airflow settings, connections, variables or proxies."""
    proxies = {"http_proxy", "https_proxy", "all_proxy"}
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW") and key.lower() not in proxies and not key.startswith("PYTEST")
    }


def base_settings(home: Path, database: Path, dags_folder: Path, logs: Path) -> dict[str, str]:
    """Return the ``AIRFLOW__*`` settings of a private home (SQLite, no examples, fixed secrets)."""
    from cryptography.fernet import Fernet

    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{database}",
        # One secret for every process: with none, each process invents its own and JWTs stop validating.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "NO_PROXY": "127.0.0.1,localhost,::1",
        "no_proxy": "127.0.0.1,localhost,::1",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "/usr/bin:/bin")]),
    }


def migrate_template_db(folder: Path, timeout: float = 180.0) -> Path:
    """Run ``airflow db migrate`` once into ``folder`` and return the migrated SQLite file (~5 s).

    Raises HarnessError with the command's output when the migration fails.
    """
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "airflow.db"
    env = {**clean_environ(), **base_settings(folder, database, folder / "dags", folder / "logs")}
    (folder / "airflow.cfg").write_text("# configured through environment variables\n")
    done = subprocess.run(
        [AIRFLOW_BIN, "db", "migrate"], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise HarnessError(f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return database


def copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SQLite database consistently (the backup API also copies WAL content)."""
    src, dst = sqlite3.connect(str(source)), sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@dataclass
class TaskResult:
    """One task instance after the run: final state, try number, XComs and its log text (all tries)."""

    task_id: str
    map_index: int
    state: str | None
    try_number: int
    xcoms: dict[str, Any] = field(default_factory=dict)
    log: str = ""


@dataclass
class DagTestResult:
    """What one ``airflow dags test`` left behind (``pid`` is the command's process and process group id).

    ``stdout`` holds the command's whole output, stderr merged in order; ``stderr`` stays "" (kept for callers).
    """

    dag_id: str
    command: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    seconds: float
    pid: int = 0
    run_id: str | None = None
    run_state: str | None = None
    tasks: dict[tuple[str, int], TaskResult] = field(default_factory=dict)

    def task(self, task_id: str, map_index: int = -1) -> TaskResult:
        """Return one task's result; raises KeyError naming the known tasks."""
        try:
            return self.tasks[(task_id, map_index)]
        except KeyError:
            raise KeyError(
                f"no task {task_id!r}[{map_index}] in run {self.run_id}; have {sorted(self.tasks)}"
            ) from None

    @property
    def states(self) -> dict[str, str | None]:
        """Return ``{task_id: state}`` (mapped task instances as ``task_id[i]``)."""
        return {
            task_id if index < 0 else f"{task_id}[{index}]": result.state
            for (task_id, index), result in sorted(self.tasks.items())
        }

    def state(self, task_id: str, map_index: int = -1) -> str | None:
        """Return one task instance's final state."""
        return self.task(task_id, map_index).state

    def xcom(self, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        """Return one XCom value (JSON-decoded), or None when the task pushed none under ``key``."""
        return self.task(task_id, map_index).xcoms.get(key)

    def log(self, task_id: str, map_index: int = -1) -> str:
        """Return the task's log text (every try, including in-line trigger lines)."""
        return self.task(task_id, map_index).log

    @property
    def output(self) -> str:
        """Return stdout and stderr together."""
        return f"{self.stdout}\n{self.stderr}"

    def describe(self) -> str:
        """Return a short account for assertion messages: exit code, states and the output's tail."""
        return (
            f"dags test {self.dag_id}: exit {self.returncode}, timed out {self.timed_out}, {self.seconds:.1f}s, "
            f"run {self.run_state}, tasks {self.states}\n--- output tail ---\n{self.output[-4000:]}"
        )


def split_task_logs(stdout: str) -> dict[tuple[str, int], str]:
    """Return each task's section(s) of ``airflow dags test`` output, keyed by (task_id, map_index)."""
    sections: dict[tuple[str, int], list[str]] = {}
    current: tuple[str, int] | None = None
    for line in stdout.splitlines():
        marker = _MARKER.search(line)
        if marker and marker.group(1) == "starting task_id":
            current = (marker.group(2), int(marker.group(3)))
        if current is not None:
            sections.setdefault(current, []).append(line)
        if marker and marker.group(1) == "end task task_id":
            current = None
    return {key: "\n".join(lines) for key, lines in sections.items()}


class AirflowHome:
    """A private ``AIRFLOW_HOME`` under ``root`` with its own SQLite DB, dags folder and log folder.

    :param root: an empty folder (``home/``, ``dags/``, ``logs/``, ``runs/`` and ``airflow.db`` go there).
    :param template_db: a migrated SQLite DB (``migrate_template_db``), copied in (~0.1 s).
    :param env: extra environment for every command, e.g. ``AIRFLOW__CORE__...`` settings.
    """

    def __init__(self, root: Path, template_db: Path, env: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.home, self.dags_folder, self.logs = root / "home", root / "dags", root / "logs"
        self.runs_folder = root / "runs"
        for folder in (self.home, self.dags_folder, self.logs, self.runs_folder):
            folder.mkdir(parents=True, exist_ok=True)
        self.database = root / "airflow.db"
        copy_sqlite(template_db, self.database)
        (self.home / "airflow.cfg").write_text("# configured through environment variables\n")
        self.env: dict[str, str] = {
            **clean_environ(),
            **base_settings(self.home, self.database, self.dags_folder, self.logs),
            **(env or {}),
        }
        self.results: list[DagTestResult] = []

    def set_connection(self, conn_id: str, value: str | Mapping[str, Any]) -> None:
        """Define a connection for every later command as ``AIRFLOW_CONN_<ID>`` (a URI or JSON)."""
        self.env[f"AIRFLOW_CONN_{conn_id.upper()}"] = value if isinstance(value, str) else json.dumps(value)

    def add_dags(self, source: Path) -> None:
        """Copy a DAG file, or every ``.py`` file of a folder, into the home's dags folder."""
        files = sorted(source.glob("*.py")) if source.is_dir() else [source]
        for path in files:
            shutil.copy2(path, self.dags_folder / path.name)

    def dags_test(
        self,
        dag_id: str,
        dag_file_or_folder: Path | None = None,
        *,
        conf: Mapping[str, Any] | None = None,
        logical_date: str | None = None,
        timeout: float = 120.0,
    ) -> DagTestResult:
        """Run ``airflow dags test <dag_id>`` (bounded by ``timeout`` seconds) and return what happened.

        ``dag_file_or_folder`` is copied into the dags folder first (a file is also passed with ``-f``).
        On timeout the command's process group is killed (SIGTERM, then SIGKILL) and ``timed_out`` is set.
        """
        command = [AIRFLOW_BIN, "dags", "test", dag_id]
        if logical_date:
            command.append(logical_date)
        if dag_file_or_folder is not None:
            self.add_dags(dag_file_or_folder)
            if dag_file_or_folder.is_file():
                command += ["-f", str(self.dags_folder / dag_file_or_folder.name)]
        if conf is not None:
            command += ["-c", json.dumps(conf)]
        last_run_id = self._last_dag_run_row_id(dag_id)
        result = self._run(dag_id, command, timeout)
        self._read_outcome(result, last_run_id)
        self.results.append(result)
        return result

    def _run(self, dag_id: str, command: list[str], timeout: float) -> DagTestResult:
        number = len(self.results) + 1
        out_path = self.runs_folder / f"{number:02d}-{dag_id}.out"
        started = time.monotonic()
        timed_out = False
        # One stream, so that task logs and the [DAG TEST] markers keep their order: Airflow 3.1 prints the
        # markers to stderr and the task logs to stdout (3.0, 3.2 and 3.3 print both to stdout).
        with out_path.open("wb") as out:
            process = subprocess.Popen(
                command, env=self.env, cwd=self.root, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(process)
        return DagTestResult(
            dag_id=dag_id,
            command=command,
            returncode=process.returncode,
            stdout=out_path.read_text(errors="replace"),
            stderr="",
            timed_out=timed_out,
            seconds=time.monotonic() - started,
            pid=process.pid,
        )

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10)
        connection.row_factory = sqlite3.Row
        return connection

    def _last_dag_run_row_id(self, dag_id: str) -> int:
        with contextlib.closing(self._connect()) as db:
            row = db.execute("SELECT max(id) AS id FROM dag_run WHERE dag_id = ?", (dag_id,)).fetchone()
        return int(row["id"] or 0)

    def _read_outcome(self, result: DagTestResult, after_row_id: int) -> None:
        """Fill in the run's id and state, its task instances, their XComs and their logs."""
        with contextlib.closing(self._connect()) as db:
            run = db.execute(
                "SELECT run_id, state FROM dag_run WHERE dag_id = ? AND id > ? ORDER BY id DESC LIMIT 1",
                (result.dag_id, after_row_id),
            ).fetchone()
            if run is None:
                return
            result.run_id, result.run_state = run["run_id"], run["state"]
            key = (result.dag_id, result.run_id)
            for row in db.execute(
                "SELECT task_id, map_index, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?", key
            ):
                result.tasks[(row["task_id"], row["map_index"])] = TaskResult(
                    row["task_id"], row["map_index"], row["state"], row["try_number"]
                )
            for row in db.execute(
                "SELECT task_id, map_index, key, value FROM xcom WHERE dag_id = ? AND run_id = ?", key
            ):
                task = result.tasks.get((row["task_id"], row["map_index"]))
                if task is not None:
                    task.xcoms[row["key"]] = _decode(row["value"])
        sections = split_task_logs(result.stdout)
        for task_key, task in result.tasks.items():
            files = self.task_log_files(result.dag_id, result.run_id, task.task_id)
            texts = [sections.get(task_key, "")] + [path.read_text(errors="replace") for path in files]
            task.log = "\n".join(text for text in texts if text)

    def task_log_files(self, dag_id: str, run_id: str, task_id: str) -> list[Path]:
        """Return the task's log files under the log folder, if Airflow wrote any (``dags test`` does not)."""
        folder = self.logs / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return sorted(folder.rglob("*.log")) if folder.is_dir() else []

    def log_files(self) -> list[Path]:
        """Return every file in the log folder plus the saved stdout/stderr of every command."""
        return sorted(path for path in self.logs.rglob("*") if path.is_file()) + sorted(self.runs_folder.iterdir())

    def all_logs_text(self) -> str:
        """Return the text of every log file and command output, each after a ``==> path <==`` header."""
        return "\n".join(f"==> {path} <==\n{path.read_text(errors='replace')}" for path in self.log_files())


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL whatever is left after a grace period, and reap the leader."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE_SECONDS)
    # Children of the leader may outlive it; the group id stays theirs until the last one exits.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=KILL_GRACE_SECONDS)
