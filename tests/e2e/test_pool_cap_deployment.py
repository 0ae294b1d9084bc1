"""Issue 6: the two concurrency layers, proven in a real Airflow deployment against the emulator.

One deployment (api-server, scheduler, dag-processor, triggerer; LocalExecutor on SQLite; all on 127.0.0.1)
and one emulator (in this process) serve three runs of ``dags/pool_cap_dag.py``, each on 12 fresh flows:

1. **pool cap**: connection ``celigo_default`` at ``concurrency_level=3``, pool synced by
   ``airflow-celigo pools sync`` (3 slots, deferred included); 6 deferrable + 6 blocking tasks.
   The emulator never has more than 3 jobs running, every task succeeds, every flow runs once, and every
   deferrable task went through the triggerer.
2. **triggerer cap**: level 2, the pool widened to 12 slots so 12 triggers wait at once (1 s poll interval).
   The triggerer's shared job poller (``job_poller.py``) normally reads all 12 jobs with one ``GET /jobs``
   listing per round, which could never exceed the cap. So the emulator fails that listing (500, and the
   connection has ``max_retries=0``) and delays ``GET /jobs/{id}`` by 0.5 s: each round the poller falls back
   to 12 concurrent single reads, which the limiter must hold to 2. Once every task has deferred, only the
   triggerer calls the emulator; from then on it never has more than 2 requests in flight.
3. **control**: level 12, pool resynced to 12, same load: more than 3 jobs run at once and more than
   2 triggerer requests are in flight, so the two assertions above can fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from figures import POOL_CAP, record

from airflow_provider_celigo.testing.emulator.seeds import demo_flow_copies
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

try:
    from .deployment import AirflowDeployment, DeploymentError
except ImportError:  # tests/e2e is not a package: pytest put its folder on sys.path
    from deployment import AirflowDeployment, DeploymentError  # type: ignore[no-redef]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

DAG_ID = "celigo_pool_cap"
CONN_ID = "celigo_default"
POOL = "celigo_celigo_default"
RUN_TASKS = ("run_deferred", "run_blocking")
DAG_FILE = Path(__file__).parent / "dags" / "pool_cap_dag.py"
PROBE_DAG_FILE = Path(__file__).parent / "dags" / "harness_probe_dag.py"
PROBE_DAG_ID = "harness_probe"
FLOWS_PER_RUN = 12
RUN_TIMEOUT = 300
# Airflow 3.3.2 race: a worker's supervisor notices its task exited after defer() only at its next select
# timeout, [workers] min_heartbeat_interval (5 s by default). A trigger that fires before that stale "success"
# reaches the scheduler, so that the resumed task is already queued, gets the task failed ("finished with
# state success, but the task instance's state attribute is queued"). Here the interval is 2 s and every job
# lasts longer than that window plus the scheduler's loop.
MIN_HEARTBEAT_INTERVAL = "2"
# Every job listing fails and every single job read takes 0.5 s: the shared poller's fallback burst.
BURST_READS_PLAN = {
    "routes": [
        {"method": "GET", "path": "^/v1/jobs$", "share_500": 1.0},
        {"method": "GET", "prefix": "/v1/jobs/", "latency": 0.5},
    ]
}
MAIN_JOB_SECONDS = 8
WAIT_JOB_SECONDS = 10
# One Python process (one Airflow import) per set-up: replace the connection, run ``airflow-celigo pools sync``,
# then optionally resize the pool past the level (argv: conn id, connection JSON, slots or "").
PREPARE = """
import sys
from airflow.models import Connection
from airflow.models.pool import Pool
from airflow.utils.session import create_session
from airflow_provider_celigo.pools.cli import main
conn_id, conn_json, slots = sys.argv[1:4]
with create_session() as session:
    session.query(Connection).filter(Connection.conn_id == conn_id).delete()
    session.add(Connection.from_json(conn_json, conn_id=conn_id))
code = main(["pools", "sync"])
if code:
    sys.exit(code)
if slots:
    Pool.create_or_update_pool(sys.argv[4], int(slots), "widened by the e2e test", True)
"""


def flow_ids(batch: int) -> list[str]:
    """Return the 12 flow ids of one run (24 hex digits, distinct across runs)."""
    return [f"6652e{batch:03x}{index:016x}" for index in range(FLOWS_PER_RUN)]


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    """The emulator, in a thread of this process, with the demo seed."""
    with EmulatorServer(host="127.0.0.1") as server:
        server.admin.seed("demo")
        yield server


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowDeployment]:
    """A deployment whose DAG folder holds only ``pool_cap_dag.py`` and the harness probe, both serialized."""
    dags = tmp_path_factory.mktemp("pool_cap_dags")
    for dag_file in (DAG_FILE, PROBE_DAG_FILE):
        shutil.copy(dag_file, dags / dag_file.name)
    run_root = os.environ.get("CELIGO_E2E_RUN_ROOT") or tmp_path_factory.mktemp("pool_cap_deployment")
    env = {"AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": MIN_HEARTBEAT_INTERVAL}
    with AirflowDeployment(dags, env=env, run_root=run_root, stop_grace=5) as deployment:
        print(f"\n[pool cap] deployment in {deployment.run_dir}")
        deployment.wait_for_dag(DAG_ID, timeout=120)
        deployment.wait_for_dag(PROBE_DAG_ID, timeout=60)
        yield deployment


class Scenario:
    """One run of the DAG: its flows, connection level and pool set-up; what it measured."""

    def __init__(self, airflow: AirflowDeployment, emulator: EmulatorServer, name: str, batch: int) -> None:
        self.airflow, self.emulator, self.name = airflow, emulator, name
        self.run_id = f"{name}_{int(time.time())}"
        self.flows = flow_ids(batch)
        self.runs_before: dict[str, int] = {}

    def prepare(self, *, level: int, seconds: float, burst_reads: bool = False, pool_slots: int | None = None) -> None:
        """Create the flows, set the connection level, sync the pool (then resize it if asked), set faults."""
        half = seconds / 2
        self.emulator.admin.seed(
            demo_flow_copies(self.flows, {"export_seconds": half, "import_seconds": half}, name="pool cap e2e")
        )
        extra: dict[str, Any] = {"base_url": self.emulator.base_url, "concurrency_level": level, "timeout": 60}
        if burst_reads:
            extra["max_retries"] = 0  # a failed job listing falls back to single reads at once
        conn = json.dumps({"conn_type": "celigo", "password": self.emulator.token, "extra": extra})
        slots = "" if pool_slots is None else str(pool_slots)
        sync = self.airflow.run_python(PREPARE, CONN_ID, conn, slots, POOL)
        print(f"[{self.name}] level={level}; airflow-celigo pools sync: {sync.stdout.strip()}")
        expected = {"pool": POOL, "slots": pool_slots or level, "include_deferred": 1}
        assert self.airflow.pool(POOL) == expected
        assert re.search(rf"^(create|resize|ok) {POOL} .*\b{level}\b", sync.stdout, re.M), sync.stdout
        self.emulator.admin.set_faults(BURST_READS_PLAN if burst_reads else {})
        self.runs_before = self.emulator.admin.runs()
        self.emulator.admin.reset_stats()

    def trigger(self, deferred: list[str], blocking: list[str]) -> None:
        self.airflow.trigger(DAG_ID, self.run_id, {"deferred_flows": deferred, "blocking_flows": blocking})

    def flow_runs(self) -> dict[str, int]:
        """Return how many runs each flow got during this scenario (only flows that ran)."""
        after = self.emulator.admin.runs()
        runs = {flow: count - self.runs_before.get(flow, 0) for flow, count in after.items()}
        return {flow: count for flow, count in runs.items() if count > 0}

    def check_outcome(self) -> list[dict[str, Any]]:
        """Assert every run-flow task succeeded in the pool and every flow ran exactly once; return the TIs."""
        tis = [
            ti
            for ti in self.airflow.task_instances(DAG_ID, self.run_id)
            if ti["task_id"].startswith("run_") and ti["map_index"] >= 0
        ]
        assert len(tis) == FLOWS_PER_RUN, tis
        assert {ti["state"] for ti in tis} == {"success"}, [(ti["task_id"], ti["map_index"], ti["state"]) for ti in tis]
        assert {ti["pool"] for ti in tis} == {POOL}
        runs = self.flow_runs()
        assert runs == dict.fromkeys(self.flows, 1), runs
        return tis

    def trigger_logs(self, map_index: int, task_id: str = "run_deferred") -> str:
        files = self.airflow.task_log_files(DAG_ID, self.run_id, task_id, map_index)
        return "\n".join(path.read_text(errors="replace") for path in files if ".trigger." in path.name)


def wait_until_all_deferred(observer: Any, airflow: AirflowDeployment, run_id: str, timeout: float = 180) -> None:
    """Wait until each of the run's 12 deferrable tasks was seen deferred (or already finished)."""
    deadline = time.monotonic() + timeout
    while True:
        airflow.check_alive()
        observer.sample()
        seen = [
            key
            for key, states in observer.states.items()
            if key[0] == "run_deferred" and ("deferred" in states or states & {"success", "failed"})
        ]
        if len(seen) == FLOWS_PER_RUN:
            return
        if time.monotonic() > deadline:
            raise DeploymentError(f"only {len(seen)} tasks deferred after {timeout}s: {observer.states}")
        time.sleep(0.2)


def triggerer_phase(
    airflow: AirflowDeployment, emulator: EmulatorServer, scenario: Scenario
) -> tuple[int, dict[str, Any], int]:
    """Run 12 deferrable tasks; return the job peak of the whole run, and the request stats and single job reads
    counted once every task had deferred (from then on only the triggerer calls the emulator)."""
    scenario.trigger(scenario.flows, [])
    with airflow.observe(DAG_ID, scenario.run_id, task_ids=RUN_TASKS) as observer:
        wait_until_all_deferred(observer, airflow, scenario.run_id)
        submitted = emulator.admin.stats()
        emulator.admin.reset_stats()
        since = time.time()
        state = airflow.wait_for_run(DAG_ID, scenario.run_id, timeout=RUN_TIMEOUT)
    stats = emulator.admin.stats()
    assert state == "success", airflow.task_instances(DAG_ID, scenario.run_id)
    jobs_peak = max(_account_peak(submitted), _account_peak(stats))
    reads = [
        r
        for r in emulator.admin.requests_log()
        if r["method"] == "GET" and r["path"].startswith("/v1/jobs/") and _epoch(r["time"]) >= since
    ]
    return jobs_peak, stats, len(reads)


def _epoch(iso_time: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp()


def _account_peak(stats: dict[str, Any]) -> int:
    return max(stats["peak_running_jobs"]["account"].values(), default=0)


def test_pool_caps_jobs_and_triggerer_caps_requests(
    airflow: AirflowDeployment, emulator: EmulatorServer, record_property: Any
) -> None:
    """Main run under level 3, triggerer run under level 2, control run under level 12."""
    began = time.monotonic()

    # 1. Pool cap: 6 deferrable + 6 blocking tasks, pool of 3 slots with deferred tasks counted.
    main = Scenario(airflow, emulator, "main", batch=1)
    main.prepare(level=3, seconds=MAIN_JOB_SECONDS)
    main.trigger(main.flows[:6], main.flows[6:])
    with airflow.observe(DAG_ID, main.run_id, task_ids=RUN_TASKS) as observer:
        state = airflow.wait_for_run(DAG_ID, main.run_id, timeout=RUN_TIMEOUT)
    main_stats = emulator.admin.stats()
    main_peak = _account_peak(main_stats)
    print(f"[main] run {state} in {time.monotonic() - began:.0f}s; peak running jobs {main_peak} (level 3)")
    print(f"[main] most TIs per state at once: {observer.peak_by_state}; holding a slot: {observer.peak_active}")
    record_property("peak_running_jobs_level_3", main_peak)
    record("main", f"level=3 tasks=12 peak_running_jobs={main_peak} peak_slots_held={observer.peak_active}", POOL_CAP)
    tis = main.check_outcome()
    assert state == "success"
    assert 1 <= main_peak <= 3, main_stats
    assert observer.peak_active <= 3, observer.peak_by_state
    for ti in tis:
        seen = observer.states[(ti["task_id"], ti["map_index"])]
        trigger_log = main.trigger_logs(ti["map_index"], ti["task_id"])
        if ti["task_id"] == "run_deferred":
            assert "deferred" in seen, (ti, seen)
            assert "Trigger fired event" in trigger_log and "Celigo job" in trigger_log, trigger_log[-2000:]
        else:
            assert "deferred" not in seen and trigger_log == "", (ti, seen)
    assert emulator.token not in airflow.logs_text()

    # 2. Triggerer cap: level 2, 12 triggers waiting at once (pool widened past the level on purpose), the
    #    shared poller forced into bursts of 12 single reads.
    capped = Scenario(airflow, emulator, "triggerer", batch=2)
    capped.prepare(level=2, seconds=WAIT_JOB_SECONDS, burst_reads=True, pool_slots=FLOWS_PER_RUN)
    _, capped_stats, capped_reads = triggerer_phase(airflow, emulator, capped)
    capped_peak = capped_stats["peak_requests_in_flight"]
    faults = emulator.admin.faults()["counters"]
    print(f"[triggerer] peak requests in flight {capped_peak} (level 2) over {capped_reads} single job reads")
    print(f"[triggerer] emulator faults so far (failed job listings): {faults}")
    record_property("triggerer_peak_requests_in_flight_level_2", capped_peak)
    record("triggerer", f"level=2 single_reads={capped_reads} peak_requests_in_flight={capped_peak}", POOL_CAP)
    capped.check_outcome()
    assert capped_reads >= FLOWS_PER_RUN, capped_reads
    assert 1 <= capped_peak <= 2, capped_stats

    # 3. Control: level 12, pool resynced to 12, same load: both peaks rise past the caps above.
    control = Scenario(airflow, emulator, "control", batch=3)
    control.prepare(level=12, seconds=WAIT_JOB_SECONDS, burst_reads=True)
    control_jobs, control_stats, control_reads = triggerer_phase(airflow, emulator, control)
    control_flight = control_stats["peak_requests_in_flight"]
    print(
        f"[control] peak running jobs {control_jobs}, triggerer peak requests in flight {control_flight} "
        f"over {control_reads} single job reads (level 12); whole test {time.monotonic() - began:.0f}s"
    )
    record_property("peak_running_jobs_level_12", control_jobs)
    record_property("triggerer_peak_requests_in_flight_level_12", control_flight)
    record(
        "control",
        f"level=12 peak_running_jobs={control_jobs} peak_requests_in_flight={control_flight} (the caps above bind)",
        POOL_CAP,
    )
    control.check_outcome()
    assert control_jobs > 3, control_stats
    assert control_flight > 2, control_stats


def test_harness_restarts_the_triggerer(airflow: AirflowDeployment) -> None:
    """The harness API the crash tests rely on: pids, task logs, and a triggerer restart that keeps working."""
    before = airflow.pids()
    assert set(before) == {"api-server", "scheduler", "dag-processor", "triggerer"}
    assert len(airflow.group_pids("scheduler")) > 1  # the LocalExecutor's pre-forked workers
    new_pid = airflow.restart_triggerer()
    assert new_pid != before["triggerer"] and airflow.pids()["triggerer"] == new_pid
    run_id = f"probe_{int(time.time())}"
    airflow.trigger(PROBE_DAG_ID, run_id)
    assert airflow.wait_for_run(PROBE_DAG_ID, run_id, timeout=120) == "success"
    states = {ti["task_id"]: ti["state"] for ti in airflow.task_instances(PROBE_DAG_ID, run_id)}
    assert states == {"hello": "success", "deferred_wait": "success"}
    logs = airflow.task_log_files(PROBE_DAG_ID, run_id, "deferred_wait")
    trigger_logs = [path for path in logs if ".trigger." in path.name]
    assert trigger_logs and "Trigger fired event" in trigger_logs[0].read_text()
    assert "Trigger fired event" in airflow.logs_text()
