"""A real Airflow 3 deployment inside a test: LocalExecutor on SQLite, four daemons, all on 127.0.0.1.

Follows the measured recipe for a real Airflow inside a test (LocalExecutor, SQLite, free loopback ports). Usage::

    with AirflowDeployment(dags_folder, env={"AIRFLOW_CONN_CELIGO_DEFAULT": "..."}) as airflow:
        airflow.wait_for_dag("my_dag")
        airflow.set_pool("celigo_celigo_default", 3, include_deferred=True)
        airflow.trigger("my_dag", "run1", conf={"x": 1})
        assert airflow.wait_for_run("my_dag", "run1", timeout=120) == "success"
        rows = airflow.task_instances("my_dag", "run1")

API (every call is bounded in time; failures raise ``DeploymentError`` with the tail of the daemon logs):

* ``AirflowDeployment(dags_folder, *, env=None, pythonpath=(), run_root=None, parallelism=8,
  boot_timeout=150, stop_grace=15, dag_processor_refresh=5, api_apps="execution")``; ``env`` is added to
  every process (daemons, CLI calls, and so the tasks), e.g. ``AIRFLOW_CONN_<ID>`` or ``AIRFLOW__CORE__...`` settings;
  ``api_apps="all"`` starts the api-server with the UI and the REST API too (``api_url`` is its address).
* ``start()`` / ``__enter__``: clean up daemons left by a crashed earlier run, make the run folder
  (``run_dir``: ``home/``, ``logs/``, ``airflow.db``, ``<daemon>.log``), copy a migrated SQLite DB (migrated
  once per pytest session), start api-server (``--apps <api_apps>``), scheduler, dag-processor and triggerer,
  each in its own process group, and wait until ``/execution/health`` answers (which warms the API up).
* ``stop()`` / ``__exit__``: SIGTERM each process group, SIGKILL after ``stop_grace`` seconds, wait until gone.
* ``wait_for_dag(dag_id, timeout)``: until the DAG is serialized and not stale.
* ``set_pool(name, slots, include_deferred=True)``, ``pool(name)`` -> its row or None,
  ``run_cli(*args, timeout, check)`` -> CompletedProcess, ``run_cli_batch([...], [...])``: several CLI commands
  in one Python process (saves ~3 s per command), ``run_python(code, *args)``: any script in the environment.
* ``trigger(dag_id, run_id, conf=None)``: unpause and trigger, in one CLI process.
* ``wait_for_run(dag_id, run_id, timeout)`` -> the final ``dag_run.state`` (raises on timeout or a dead daemon);
  ``run_state(dag_id, run_id)`` -> the current state or None.
* ``task_instances(dag_id, run_id)`` -> list of dicts: task_id, map_index, state, try_number, start_date,
  end_date, queued_dttm, hostname, pid, pool, operator, next_method, trigger_id, trigger_classpath,
  triggerer_id; ``task_instance_history(dag_id, run_id)`` -> rows of earlier tries.
* ``query(sql, params)``: read-only SQL on the metadata DB (e.g. ``job``, ``trigger``, ``slot_pool``).
* ``observe(dag_id, run_id, interval=0.25, task_ids=None)``: context manager sampling TI states in the
  background; its ``StateObserver`` has ``states`` ((task_id, map_index) -> set of states seen),
  ``peak_by_state`` and ``peak_active`` (most TIs queued, running or deferred at once), ``errors`` (DB
  errors met while sampling), and ``sample()`` to take one sample now.
* ``logs_text()``: every task, trigger and daemon log concatenated (for token scans); ``log_files()``;
  ``task_log_files(dag_id, run_id, task_id, map_index=-1)``: ``attempt=N.log`` and, for a deferred task, the
  triggerer's ``attempt=N.log.trigger.<triggerer job id>.log``.
* ``pids()`` -> {daemon name: group leader pid}; ``group_pids(name)`` -> every live pid in that group;
  ``restart_triggerer(timeout)``: stop the triggerer's group, start a new one and wait for its heartbeat;
  ``start_daemon(name)`` / ``stop_daemon(name)`` for any of ``DAEMONS``.

Gotchas: daemons left by a crashed session are found through ``REGISTRY`` (one JSON record per deployment)
and stopped at the next ``start()``. Airflow 3.3.2 can fail a deferred task whose trigger fires within
``[workers] min_heartbeat_interval`` (5 s) of ``defer()``: the stale "success" of the deferring worker reaches
the scheduler after the resumed try was queued (apache/airflow#66374, #71580, #72716). Tests with very short
deferrals pass ``env={"AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2"}`` and make the deferral outlast it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from airflow_provider_celigo.testing.dags import clean_environ, copy_sqlite, migrate_template_db

DAEMONS: dict[str, list[str]] = {
    "api-server": ["api-server", "--apps", "execution"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
TERMINAL_RUN_STATES = frozenset({"success", "failed"})
ACTIVE_TI_STATES = frozenset({"queued", "running", "deferred"})  # the states that hold a pool slot (deferred: opt-in)
AIRFLOW_BIN = str(Path(sys.executable).with_name("airflow"))
REGISTRY = Path(tempfile.gettempdir()) / f"celigo-airflow-e2e-{os.getuid()}"
CLI_BATCH = """
import json, sys
from airflow.cli.cli_parser import get_parser
parser = get_parser()
for argv in json.loads(sys.argv[1]):
    args = parser.parse_args(argv)
    args.func(args)
"""
_TEMPLATE_LOCK = threading.Lock()
_TEMPLATE: dict[str, Path] = {}


class DeploymentError(RuntimeError):
    """The deployment failed to start, a daemon died, or something did not happen in time."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_proc(pid: int, name: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return b""


def _start_time(pid: int) -> str | None:
    """Return the process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    fields = _read_proc(pid, "stat").decode(errors="replace").rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _group_members(pgid: int) -> list[int]:
    """Return the live (non-zombie) pids whose process group is ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _read_proc(int(entry.name), "stat").decode(errors="replace")
        fields = stat.rsplit(")", 1)[-1].split() if stat else []
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _belongs_to(pid: int, run_dir: str, home: str) -> bool:
    """True when process ``pid`` runs in ``run_dir`` or has ``AIRFLOW_HOME=home`` (setproctitle may hide it)."""
    try:
        if os.readlink(f"/proc/{pid}/cwd") == run_dir:
            return True
    except OSError:
        pass
    return f"AIRFLOW_HOME={home}".encode() in _read_proc(pid, "environ").split(b"\0")


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _wait_group_gone(pgid: int, timeout: float, popen: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None:
            popen.poll()
        if not _group_members(pgid):
            return True
        time.sleep(0.2)
    return False


def stop_group(pgid: int, grace: float, popen: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM process group ``pgid``, SIGKILL it after ``grace`` seconds, and wait until it is gone."""
    _signal_group(pgid, signal.SIGTERM)
    if not _wait_group_gone(pgid, grace, popen):
        _signal_group(pgid, signal.SIGKILL)
        if not _wait_group_gone(pgid, 15, popen):
            raise DeploymentError(f"process group {pgid} survived SIGKILL")
    if popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(timeout=5)


def cleanup_stale_runs(grace: float = 5) -> list[str]:
    """Stop daemons recorded by earlier runs whose owning process has died; return their run folders.

    A group is only signalled when its leader still has the recorded start time, or a live member runs in the
    recorded run folder or with the recorded ``AIRFLOW_HOME``: a recycled pid of an unrelated process is never
    touched, nor a deployment whose test session is still running.
    """
    cleaned = []
    for record_file in sorted(REGISTRY.glob("*.json")) if REGISTRY.is_dir() else []:
        try:
            record = json.loads(record_file.read_text())
        except (OSError, ValueError):
            continue
        owner_start = _start_time(int(record.get("owner_pid", 0)))
        if owner_start is not None and owner_start == record.get("owner_start"):
            continue
        for name, pgid in record.get("groups", {}).items():
            leader_start = record.get("starts", {}).get(name)
            ours = leader_start is not None and _start_time(pgid) == leader_start
            if ours or any(_belongs_to(pid, record["run_dir"], record["home"]) for pid in _group_members(pgid)):
                with contextlib.suppress(DeploymentError):
                    stop_group(pgid, grace)
        record_file.unlink(missing_ok=True)
        cleaned.append(record.get("run_dir", ""))
    return cleaned


def migrated_template() -> Path:
    """Return a migrated SQLite DB, migrated once per process (pytest session) and then reused."""
    with _TEMPLATE_LOCK:
        if "db" not in _TEMPLATE:
            cache = Path(tempfile.mkdtemp(prefix="celigo-e2e-dbcache-"))
            atexit.register(shutil.rmtree, cache, True)
            _TEMPLATE["db"] = migrate_template_db(cache)
        return _TEMPLATE["db"]


class StateObserver:
    """Samples the task instances of one run in a background thread (see ``AirflowDeployment.observe``)."""

    def __init__(
        self,
        deployment: AirflowDeployment,
        dag_id: str,
        run_id: str,
        interval: float,
        task_ids: Collection[str] | None = None,
    ) -> None:
        self.deployment, self.dag_id, self.run_id, self.interval = deployment, dag_id, run_id, interval
        self.task_ids = set(task_ids) if task_ids is not None else None
        self.states: dict[tuple[str, int], set[str]] = {}
        self.peak_by_state: dict[str, int] = {}
        self.peak_active = 0
        self.errors: list[str] = []
        self.slowest_sample = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"observe-{run_id}", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        """Take one sample now (a DB error is recorded in ``errors``, not raised)."""
        began = time.monotonic()
        try:
            rows = self.deployment.query(
                "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
                (self.dag_id, self.run_id),
            )
            counts: dict[str, int] = {}
            for row in rows:
                if self.task_ids is not None and row["task_id"] not in self.task_ids:
                    continue
                state = row["state"] or "none"
                self.states.setdefault((row["task_id"], row["map_index"]), set()).add(state)
                counts[state] = counts.get(state, 0) + 1
            for state, count in counts.items():
                self.peak_by_state[state] = max(self.peak_by_state.get(state, 0), count)
            active = sum(counts.get(state, 0) for state in ACTIVE_TI_STATES)
            self.peak_active = max(self.peak_active, active)
            self.samples += 1
        except sqlite3.Error as error:
            self.errors.append(f"{type(error).__name__}: {error}")
        self.slowest_sample = max(self.slowest_sample, time.monotonic() - began)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.sample()


class AirflowDeployment:
    """api-server (execution API), scheduler, dag-processor and triggerer on 127.0.0.1; see the module docs."""

    def __init__(
        self,
        dags_folder: str | Path,
        *,
        env: Mapping[str, str] | None = None,
        pythonpath: Sequence[str | Path] = (),
        run_root: str | Path | None = None,
        parallelism: int = 8,
        boot_timeout: float = 150,
        stop_grace: float = 15,
        dag_processor_refresh: int = 5,
        api_apps: str = "execution",
    ) -> None:
        self.dags_folder = Path(dags_folder).resolve()
        self.extra_env = dict(env or {})
        self.pythonpath = [str(Path(item).resolve()) for item in pythonpath]
        self.run_root = Path(run_root) if run_root else None
        self.parallelism = parallelism
        self.boot_timeout = boot_timeout
        self.stop_grace = stop_grace
        self.dag_processor_refresh = dag_processor_refresh
        self.api_apps = api_apps
        self.run_dir = Path()
        self.api_port = 0
        self.env: dict[str, str] = {}
        self._popens: dict[str, subprocess.Popen[bytes]] = {}
        self._record_file: Path | None = None
        self._record_lock = threading.Lock()

    # ----------------------------------------------------------------- life cycle
    def __enter__(self) -> AirflowDeployment:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def execution_api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/execution/"

    @property
    def api_url(self) -> str:
        """The api-server's address (UI and REST API when started with ``api_apps="all"``)."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def db_path(self) -> Path:
        return self.run_dir / "airflow.db"

    def start(self) -> None:
        """Prepare the run folder and DB, start the four daemons and wait for the execution API."""
        cleanup_stale_runs()
        base = Path(self.run_root) if self.run_root else Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        self.run_dir = Path(tempfile.mkdtemp(prefix="airflow-deployment-", dir=base))
        self.env = self._build_env()
        (self.run_dir / "home" / "airflow.cfg").write_text("# configured through environment variables\n")
        copy_sqlite(migrated_template(), self.db_path)
        try:
            for name in DAEMONS:
                self.start_daemon(name)
            self._wait_for_health()
        except BaseException:
            self.stop()
            raise

    def _build_env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        home, logs = self.run_dir / "home", self.run_dir / "logs"
        home.mkdir()
        logs.mkdir()
        self.api_port = free_port()
        env = clean_environ()
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
                "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.api_port}",
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(logs),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(self.dag_processor_refresh),
                "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
            }
        )
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env.pop(proxy, None)
        paths = [*self.pythonpath, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
        if paths:
            env["PYTHONPATH"] = os.pathsep.join(paths)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "/usr/bin:/bin")])
        env.update(self.extra_env)
        return env

    def start_daemon(self, name: str) -> int:
        """Start daemon ``name`` (a key of ``DAEMONS``) in its own process group; return its pid."""
        if name in self._popens and self._popens[name].poll() is None:
            raise DeploymentError(f"{name} is already running")
        log = (self.run_dir / f"{name}.log").open("ab")
        try:
            popen = subprocess.Popen(
                [AIRFLOW_BIN, *self._daemon_args(name)],
                env=self.env,
                cwd=self.run_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        self._popens[name] = popen
        self._write_record()
        return popen.pid

    def _daemon_args(self, name: str) -> list[str]:
        """Return the ``airflow`` arguments of daemon ``name``; the api-server serves ``api_apps``."""
        if name == "api-server":
            return ["api-server", "--apps", self.api_apps]
        return list(DAEMONS[name])

    def stop_daemon(self, name: str, grace: float | None = None) -> None:
        """Stop daemon ``name``'s whole process group (SIGTERM, then SIGKILL after ``grace``)."""
        popen = self._popens.pop(name, None)
        if popen is not None:
            stop_group(popen.pid, self.stop_grace if grace is None else grace, popen)
            self._write_record()

    def stop(self) -> None:
        """Stop every daemon group in parallel, bounded by the stop grace plus the SIGKILL wait."""
        threads = [threading.Thread(target=self.stop_daemon, args=(name,)) for name in list(self._popens)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=self.stop_grace + 30)
        if self._record_file is not None and not self._popens:
            self._record_file.unlink(missing_ok=True)

    def _write_record(self) -> None:
        with self._record_lock:
            self._write_record_locked()

    def _write_record_locked(self) -> None:
        REGISTRY.mkdir(parents=True, exist_ok=True)
        if self._record_file is None:
            self._record_file = REGISTRY / f"{self.run_dir.name}.json"
        record = {
            "owner_pid": os.getpid(),
            "owner_start": _start_time(os.getpid()),
            "run_dir": str(self.run_dir),
            "home": self.env["AIRFLOW_HOME"],
            "groups": {name: popen.pid for name, popen in self._popens.items()},
            "starts": {name: _start_time(popen.pid) for name, popen in self._popens.items()},
        }
        self._record_file.write_text(json.dumps(record))
        (self.run_dir / "pids").write_text(json.dumps(record["groups"]))

    def pids(self) -> dict[str, int]:
        """Return the group leader pid (= process group id) of each running daemon."""
        return {name: popen.pid for name, popen in self._popens.items() if popen.poll() is None}

    def group_pids(self, name: str) -> list[int]:
        """Return every live pid in daemon ``name``'s process group (workers, trigger runner, tasks)."""
        popen = self._popens.get(name)
        return _group_members(popen.pid) if popen is not None else []

    def restart_triggerer(self, timeout: float = 90) -> int:
        """Stop the triggerer's process group, start a new triggerer and wait for its first heartbeat."""
        before = self.query("SELECT COALESCE(MAX(id), 0) AS id FROM job WHERE job_type = 'TriggererJob'")[0]["id"]
        self.stop_daemon("triggerer")
        pid = self.start_daemon("triggerer")
        self._until(
            lambda: self.query(
                "SELECT id FROM job WHERE job_type = 'TriggererJob' AND state = 'running' AND id > ?", (before,)
            ),
            timeout,
            "a new triggerer heartbeat",
        )
        return pid

    # ----------------------------------------------------------------- waiting and checks
    def check_alive(self) -> None:
        """Raise DeploymentError when a daemon has exited."""
        for name, popen in self._popens.items():
            if popen.poll() is not None:
                raise DeploymentError(f"{name} exited with {popen.returncode}\n{self.daemon_log_tail(name)}")

    def daemon_log_tail(self, name: str, chars: int = 4000) -> str:
        path = self.run_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- {name}.log (tail) ---\n{text[-chars:]}"

    def _until(self, predicate: Any, timeout: float, what: str, interval: float = 0.5) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            with contextlib.suppress(sqlite3.Error):
                result = predicate()
                if result:
                    return result
            if time.monotonic() > deadline:
                tails = "\n".join(self.daemon_log_tail(name, 1500) for name in self._popens)
                raise DeploymentError(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")
            time.sleep(interval)

    def _health_ok(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.execution_api_url}health", timeout=10) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _wait_for_health(self) -> None:
        self._until(self._health_ok, self.boot_timeout, "GET /execution/health")

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Wait until ``dag_id`` is serialized and active."""
        self._until(
            lambda: self.query(
                "SELECT d.dag_id FROM dag d JOIN serialized_dag s ON s.dag_id = d.dag_id "
                "WHERE d.dag_id = ? AND NOT d.is_stale",
                (dag_id,),
            ),
            timeout,
            f"DAG {dag_id} to be serialized",
        )

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
        return rows[0]["state"] if rows else None

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        """Wait until the run reaches success or failed; return that state."""

        def finished() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in TERMINAL_RUN_STATES else None

        state = self._until(
            finished,
            timeout,
            f"run {dag_id}/{run_id} to finish",
            interval=1.0,
        )
        return str(state)

    # ----------------------------------------------------------------- control
    def run_cli(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` with the deployment's environment."""
        done = subprocess.run(
            [AIRFLOW_BIN, *args],
            env=self.env,
            cwd=self.run_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and done.returncode != 0:
            raise DeploymentError(f"airflow {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done

    def run_python(self, code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``python -c code args...`` with the deployment's environment; raise DeploymentError if it fails."""
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=self.env,
            cwd=self.run_dir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise DeploymentError(
                f"python script failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def run_cli_batch(self, *commands: Sequence[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run several ``airflow`` CLI commands in one Python process, in order (one start-up instead of N)."""
        return self.run_python(CLI_BATCH, json.dumps([list(command) for command in commands]), timeout=timeout)

    def set_pool(self, name: str, slots: int, include_deferred: bool = True, description: str = "e2e") -> None:
        """Create or resize pool ``name``."""
        flag = ["--include-deferred"] if include_deferred else []
        self.run_cli_batch(["pools", "set", name, str(slots), description, *flag])

    def pool(self, name: str) -> dict[str, Any] | None:
        rows = self.query("SELECT pool, slots, include_deferred FROM slot_pool WHERE pool = ?", (name,))
        return rows[0] if rows else None

    def trigger(self, dag_id: str, run_id: str, conf: Mapping[str, Any] | None = None) -> None:
        """Unpause ``dag_id`` and trigger a run with ``run_id`` and ``conf``."""
        trigger = ["dags", "trigger", dag_id, "--run-id", run_id]
        if conf is not None:
            trigger += ["--conf", json.dumps(dict(conf))]
        self.run_cli_batch(["dags", "unpause", dag_id], trigger)

    # ----------------------------------------------------------------- reading the DB and the logs
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run read-only SQL on the metadata DB; return rows as dicts."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=15)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in conn.execute(sql, tuple(params)).fetchall()]
        finally:
            conn.close()

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return the run's task instances with their trigger (if still deferred), sorted by task and index."""
        return self.query(
            "SELECT ti.task_id, ti.map_index, ti.state, ti.try_number, ti.start_date, ti.end_date, "
            "ti.queued_dttm, ti.hostname, ti.pid, ti.pool, ti.operator, ti.next_method, ti.trigger_id, "
            "t.classpath AS trigger_classpath, t.triggerer_id "
            "FROM task_instance ti LEFT JOIN [trigger] t ON t.id = ti.trigger_id "
            "WHERE ti.dag_id = ? AND ti.run_id = ? ORDER BY ti.task_id, ti.map_index",
            (dag_id, run_id),
        )

    def task_instance_history(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return the rows of earlier tries of the run's task instances."""
        return self.query(
            "SELECT task_id, map_index, try_number, state, start_date, end_date, hostname, pid, next_method "
            "FROM task_instance_history WHERE dag_id = ? AND run_id = ? ORDER BY task_id, map_index, try_number",
            (dag_id, run_id),
        )

    @contextlib.contextmanager
    def observe(
        self, dag_id: str, run_id: str, interval: float = 0.25, task_ids: Collection[str] | None = None
    ) -> Iterator[StateObserver]:
        """Sample the states of the run's task instances (of ``task_ids`` only, if given) while the block runs."""
        observer = StateObserver(self, dag_id, run_id, interval, task_ids)
        observer.start()
        try:
            yield observer
        finally:
            observer.stop()

    def task_log_files(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[Path]:
        """Return the log files of one task instance: ``attempt=N.log`` and the triggerer's ``...trigger.N.log``."""
        folder = self.run_dir / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        if map_index >= 0:
            folder = folder / f"map_index={map_index}"
        return sorted(path for path in folder.glob("attempt=*") if path.is_file()) if folder.is_dir() else []

    def log_files(self) -> list[Path]:
        """Return every task, trigger and daemon log file of this deployment."""
        files = sorted(path for path in (self.run_dir / "logs").rglob("*") if path.is_file())
        return files + sorted(self.run_dir.glob("*.log"))

    def logs_text(self) -> str:
        """Return all task, trigger and daemon logs, each preceded by a ``==> path <==`` header."""
        return "\n".join(f"==> {path} <==\n{path.read_text(errors='replace')}" for path in self.log_files())
