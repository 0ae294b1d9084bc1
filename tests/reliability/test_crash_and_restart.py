"""Crash and restart, in a real Airflow deployment (api-server, scheduler, dag-processor, triggerer; LocalExecutor).

One run of ``dags/reliability_crash_dag.py`` against the emulator (in this process, with a random token), on
five flows whose jobs last an emulated hour (the emulator's clock runs at real speed until the interventions
are done, then fast), so every job is still running when the test acts:

1. **worker killed**: ``worker_killed`` waits on its job in a worker; the test SIGKILLs its task process (the
   pid Airflow records for the task instance, found in the scheduler's process group). Airflow retries the task,
   and the retry reattaches to the job of the first try: one run in total, and the task succeeds.
2. **triggerer killed and restarted**: three deferrable ``deferred`` tasks wait in the triggerer; the test
   SIGKILLs the triggerer's process group (no graceful shutdown) and starts a new triggerer, which adopts the
   orphaned triggers once the old one's heartbeat is stale (30 s). The tasks complete, through the new triggerer.
3. **marked failed while deferred**: ``marked_failed`` is set to failed the way the UI and REST API do it
   (``set_task_instance_state``). The triggerer cancels its trigger, the trigger's ``on_kill`` cancels the job.
4. **killed between the request and its answer**: ``killed_after_request`` runs a quick flow whose
   ``POST /run`` the emulator handles at once but answers only minutes later; the test SIGKILLs the task process
   in between, so the job id is never saved. The flow ends within a second, long before the retry (5 s later)
   starts: the retry must find that ended run by the time of the request it recorded, and start no second run.

All along, the emulator fails a share of the API calls (500, 503, dropped connections) and adds latency.
At the end no job is queued or running, no flow ran twice, and the token is in none of the task, trigger and
daemon logs, XComs, rendered template fields or the rest of the metadata DB.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import (
    active_jobs,
    airflow_db_places,
    deployment_module,
    log_file_places,
    table_rows,
    until,
)
from report import FIGURES, Place, scan_for_token

from airflow_provider_celigo.testing.emulator.seeds import demo_flow_copies
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

DAG_ID = "celigo_reliability_crash"
DAG_FILE = Path(__file__).parent / "dags" / "reliability_crash_dag.py"
RUN_ID = "crash_and_restart"
JOB_SECONDS = 1800  # emulated seconds per step: an hour per job at the real-time clock used while acting
FINISH_CLOCK_SPEED = 600.0  # then six seconds to finish
# See tests/e2e/deployment.py: a short min_heartbeat_interval avoids an Airflow 3.3.2 race on fast deferrals.
DEPLOYMENT_ENV = {"AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2"}
QUICK_SCENARIO = {"export_seconds": 0.3, "import_seconds": 0.3, "records": 4}
HELD_ANSWER_SECONDS = 300  # the answer to the quick flow's POST /run: long after the kill
# API faults during the crash run: the first API_FAULT_LIMIT that the seeded rule draws (within 30 calls; the run
# makes hundreds), so their count and kinds are the same in every run.
API_FAULT_LIMIT = 6
FAULT_PLAN = {
    "seed": 31,
    "share_500": 0.05,
    "share_503": 0.04,
    "share_drop": 0.03,
    "latency": 0.02,
    "limit": API_FAULT_LIMIT,
}
MARK_FAILED = """
import sys
from airflow.models.serialized_dag import SerializedDagModel
from airflow.utils.session import create_session
from airflow.utils.state import TaskInstanceState
dag_id, run_id, task_id = sys.argv[1:4]
with create_session() as session:
    dag = SerializedDagModel.get_dag(dag_id, session=session)
    # What PATCH /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/{task} {"new_state": "failed"} does.
    changed = dag.set_task_instance_state(
        task_id=task_id, run_id=run_id, state=TaskInstanceState.FAILED, session=session
    )
    print(len(changed))
"""


def flow_ids() -> dict[str, Any]:
    ids = [f"6652fc{index:018x}" for index in range(6)]
    return {"kill": ids[0], "deferred": ids[1:4], "cancel": ids[4], "request_kill": ids[5], "all": ids}


def flow_dump(ids: list[str]) -> dict[str, Any]:
    """Seed dump: one long flow per id (demo orders export and import)."""
    scenario = {"export_seconds": JOB_SECONDS, "import_seconds": JOB_SECONDS, "records": 30}
    return demo_flow_copies(ids, scenario, name="reliability crash")


@dataclass
class CrashRun:
    """What the deployment and the emulator showed during and after the run."""

    token: str
    flows: dict[str, Any]
    killed_pid: int = 0
    killed_after_request_pid: int = 0
    first_job: str = ""
    old_triggerer: int = 0
    new_triggerer: int = 0
    run_state: str = ""
    tis: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    xcom_job_id: Any = None
    runs: dict[str, int] = field(default_factory=dict)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    task_logs: dict[str, str] = field(default_factory=dict)
    all_logs: str = ""
    log_places: list[Place] = field(default_factory=list)
    db_places: list[Place] = field(default_factory=list)
    xcom_rows: int = 0
    rendered_rows: int = 0
    fault_counters: dict[str, int] = field(default_factory=dict)
    api_faults_left: int | None = None  # what the plan's limit had left at the end (0: every fault injected)
    leaks: list[str] = field(default_factory=list)
    passed: set[str] = field(default_factory=set)


def job_of_flow(server: EmulatorServer, flow_id: str) -> dict[str, Any] | None:
    return next((job for job in server.admin.jobs() if job.get("_flowId") == flow_id), None)


def ancestors(pid: int) -> list[int]:
    """Return the parent, grandparent, ... of a process (from /proc)."""
    found: list[int] = []
    while pid > 1 and len(found) < 32:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        found.append(pid)
    return found


def log_text(airflow: Any, task_id: str, map_index: int = -1) -> str:
    files = airflow.task_log_files(DAG_ID, RUN_ID, task_id, map_index)
    return "\n".join(f"==> {path.name} <==\n{path.read_text(errors='replace')}" for path in files)


def choreography(airflow: Any, server: EmulatorServer, run: CrashRun) -> None:
    """Trigger the run, act on it at the right moments, let it finish; every wait is bounded."""
    flows = run.flows
    airflow.wait_for_dag(DAG_ID, timeout=120)
    conf = {
        "kill_flow": flows["kill"],
        "deferred_flows": flows["deferred"],
        "cancel_flow": flows["cancel"],
        "request_kill_flow": flows["request_kill"],
    }
    airflow.trigger(DAG_ID, RUN_ID, conf)

    def tis() -> dict[tuple[str, int], dict[str, Any]]:
        airflow.check_alive()
        return {(ti["task_id"], ti["map_index"]): ti for ti in airflow.task_instances(DAG_ID, RUN_ID)}

    def in_place() -> dict[tuple[str, int], dict[str, Any]] | None:
        now = tis()
        killed = now.get(("worker_killed", -1), {})
        deferred = [now.get(("deferred", index), {}).get("state") for index in range(len(flows["deferred"]))]
        job = job_of_flow(server, flows["kill"])
        ready = (
            killed.get("state") == "running"
            and killed.get("pid")
            and job is not None
            and job.get("status") == "running"
            and job["_id"] in log_text(airflow, "worker_killed")  # the first try has its job id (and saved it)
            and deferred == ["deferred"] * len(flows["deferred"])
            and now.get(("marked_failed", -1), {}).get("state") == "deferred"
            and now.get(("killed_after_request", -1), {}).get("state") == "running"
            and now.get(("killed_after_request", -1), {}).get("pid")
            and job_of_flow(server, flows["request_kill"]) is not None  # handled; its answer is held
        )
        return now if ready else None

    before = until(in_place, 180, "the worker task waiting on its job and four tasks deferred", interval=0.5)
    first_job = job_of_flow(server, flows["kill"])
    assert first_job is not None
    run.first_job = first_job["_id"]

    # 1. SIGKILL the waiting task's process: a descendant of this deployment's scheduler (LocalExecutor worker).
    pid = int(before[("worker_killed", -1)]["pid"])
    scheduler = airflow.pids()["scheduler"]
    assert scheduler in ancestors(pid), (pid, ancestors(pid), scheduler)
    os.kill(pid, signal.SIGKILL)
    run.killed_pid = pid
    # 1b. SIGKILL the task whose POST /run was handled but not yet answered: its job id is never saved.
    pid = int(before[("killed_after_request", -1)]["pid"])
    assert scheduler in ancestors(pid), (pid, ancestors(pid), scheduler)
    os.kill(pid, signal.SIGKILL)
    run.killed_after_request_pid = pid

    # 2. SIGKILL the triggerer's process group while four tasks are deferred, then start a new triggerer.
    run.old_triggerer = int(airflow.query("SELECT MAX(id) AS id FROM job WHERE job_type = 'TriggererJob'")[0]["id"])
    os.killpg(airflow.pids()["triggerer"], signal.SIGKILL)
    airflow.stop_daemon("triggerer", grace=0)  # reaps the killed group
    airflow.start_daemon("triggerer")

    def new_triggerer() -> int:
        rows = airflow.query(
            "SELECT MAX(id) AS id FROM job WHERE job_type = 'TriggererJob' AND state = 'running' AND id > ?",
            (run.old_triggerer,),
        )
        return int(rows[0]["id"] or 0)

    run.new_triggerer = until(new_triggerer, 120, "a new triggerer heartbeat")

    # 3. Mark the deferred task failed once the new triggerer runs its trigger (its on_kill runs there).
    def trigger_on_new_triggerer() -> bool:
        rows = airflow.query(
            "SELECT t.triggerer_id FROM [trigger] t JOIN task_instance ti ON ti.trigger_id = t.id "
            "WHERE ti.dag_id = ? AND ti.run_id = ? AND ti.task_id = 'marked_failed'",
            (DAG_ID, RUN_ID),
        )
        return bool(rows) and rows[0]["triggerer_id"] == run.new_triggerer

    until(trigger_on_new_triggerer, 150, "the new triggerer to adopt the killed triggerer's triggers")
    changed = airflow.run_python(MARK_FAILED, DAG_ID, RUN_ID, "marked_failed")
    assert changed.stdout.strip().splitlines()[-1] == "1", changed.stdout

    def settled() -> bool:
        now = tis()
        killed = now.get(("worker_killed", -1), {})
        canceled = (job_of_flow(server, flows["cancel"]) or {}).get("status") == "canceled"
        reattached = killed.get("try_number") == 2 and "reattaching" in log_text(airflow, "worker_killed").lower()
        return canceled and reattached

    until(settled, 180, "the retry to reattach and the marked-failed task's job to be canceled", interval=0.5)
    assert job_of_flow(server, flows["kill"])["status"] == "running"  # type: ignore[index]

    # Let the remaining jobs finish quickly.
    server.admin.configure(clock_speed=FINISH_CLOCK_SPEED)
    run.run_state = airflow.wait_for_run(DAG_ID, RUN_ID, timeout=240)


@pytest.fixture(scope="module")
def crash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashRun]:
    """Run the choreography once; the tests below check its parts."""
    deployment = deployment_module()
    run = CrashRun(token=f"reliability-{secrets.token_hex(12)}", flows=flow_ids())
    dags = tmp_path_factory.mktemp("crash_dags")
    shutil.copy(DAG_FILE, dags / DAG_FILE.name)
    with EmulatorServer(host="127.0.0.1", tokens={run.token: "default"}) as server:
        server.admin.seed("demo")
        server.admin.seed(flow_dump(run.flows["all"]))
        server.admin.set_scenario(run.flows["request_kill"], **QUICK_SCENARIO)
        held = {"method": "POST", "path": f"^/v1/flows/{run.flows['request_kill']}/run$"}
        server.admin.set_faults({**FAULT_PLAN, "routes": [{**held, "latency_after": HELD_ANSWER_SECONDS}]})
        extra = {"base_url": server.base_url, "concurrency_level": 5, "max_retries": 8, "max_retry_wait": 5}
        conn = json.dumps({"conn_type": "celigo", "password": run.token, "extra": extra})
        env = {**DEPLOYMENT_ENV, "AIRFLOW_CONN_CELIGO_DEFAULT": conn}
        run_root = tmp_path_factory.mktemp("crash_deployment")
        with deployment.AirflowDeployment(dags, env=env, run_root=run_root, stop_grace=5) as airflow:
            choreography(airflow, server, run)
            run.tis = {(ti["task_id"], ti["map_index"]): ti for ti in airflow.task_instances(DAG_ID, RUN_ID)}
            run.history = airflow.task_instance_history(DAG_ID, RUN_ID)
            rows = airflow.query(
                "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'worker_killed' "
                "AND key = 'celigo_job_id'",
                (DAG_ID, RUN_ID),
            )
            run.xcom_job_id = json.loads(rows[0]["value"]) if rows else None
            for task_id, index in run.tis:
                run.task_logs[f"{task_id}[{index}]" if index >= 0 else task_id] = log_text(airflow, task_id, index)
            run.all_logs = airflow.logs_text()
            run.log_places = log_file_places(airflow.log_files(), "deployment")
            run.db_places = airflow_db_places(airflow.db_path, "deployment")
            run.xcom_rows = table_rows(airflow.db_path, "xcom")
            run.rendered_rows = table_rows(airflow.db_path, "rendered_task_instance_fields")
        run.api_faults_left = server.admin.faults()["plan"].get("limit")
        server.admin.set_faults({})
        run.fault_counters = dict(server.admin.faults()["counters"])
        run.runs = server.admin.runs()
        run.jobs = server.admin.jobs()
        run.requests = server.admin.requests_log()
        run.leaks = scan_for_token(run.token, [*run.log_places, *run.db_places], "crash")
        yield run
        record_figures(run)


# The scenarios and the process fault each one does; a scenario's test adds its name to ``CrashRun.passed``.
SCENARIOS = {
    "worker": "task_sigkill",
    "triggerer": "triggerer_sigkill",
    "marked_failed": "marked_failed",
    "killed_after_request": "task_sigkill_after_request",
}


def duplicates_and_orphans(crash: CrashRun) -> tuple[int, list[dict[str, Any]]]:
    """Flow runs beyond one per flow (and flows that never ran count as missing, not as duplicates); active jobs."""
    return sum(max(0, count - 1) for count in crash.runs.values()), active_jobs(crash.jobs)


def clean(crash: CrashRun) -> bool:
    """One run per flow, no job left active, no token anywhere."""
    _, orphans = duplicates_and_orphans(crash)
    return crash.runs == dict.fromkeys(crash.flows["all"], 1) and not orphans and not crash.leaks


def record_figures(crash: CrashRun) -> None:
    """Record the family's figures once, after every scenario's test ran (so they do not depend on test order).

    A scenario's process fault is survived when its test passed; the API faults of the run are survived when
    every scenario passed and the run is clean.
    """
    family = FIGURES["crash"]
    family.add_scenarios(len(SCENARIOS))
    for scenario, fault in SCENARIOS.items():
        family.add_faults({fault: 1}, survived=scenario in crash.passed)
    api = {kind: count for kind, count in crash.fault_counters.items() if kind != "latency"}
    family.add_faults(
        {**api, "latency": crash.fault_counters.get("latency", 0)},
        survived=clean(crash) and crash.passed >= set(SCENARIOS),
    )
    duplicates, orphans = duplicates_and_orphans(crash)
    family.add_duplicates(duplicates)
    family.add_orphans(len(orphans))
    family.add_note(
        f"API faults during the crash run (the first {API_FAULT_LIMIT} the seeded rule draws): "
        f"{ {k: n for k, n in sorted(crash.fault_counters.items()) if k != 'latency'} }; plan {FAULT_PLAN}, "
        f"latency on every call, POST /run of the quick flow answered after "
        f"{HELD_ANSWER_SECONDS} s"
    )


def record(crash: CrashRun, scenario: str, fault: str, ok: bool) -> None:
    """Note that one crash scenario met its checks (the figures are recorded once, by the ``crash`` fixture)."""
    assert SCENARIOS[scenario] == fault
    if ok:
        crash.passed.add(scenario)


def test_a_killed_worker_is_retried_and_reattaches_to_its_job(crash: CrashRun) -> None:
    ok = False
    try:
        ti = crash.tis[("worker_killed", -1)]
        assert ti["state"] == "success" and ti["try_number"] == 2, ti
        first = [row for row in crash.history if row["task_id"] == "worker_killed" and row["try_number"] == 1]
        assert first and first[0]["pid"] == crash.killed_pid, crash.history
        assert crash.runs[crash.flows["kill"]] == 1, crash.runs
        assert crash.xcom_job_id == crash.first_job
        log = crash.task_logs["worker_killed"]
        assert f"reattaching to Celigo job {crash.first_job}" in log, log[-3000:]
        [job] = [job for job in crash.jobs if job.get("_flowId") == crash.flows["kill"]]
        assert job["status"] == "completed"
        ok = True
    finally:
        record(crash, "worker", "task_sigkill", ok)


def test_deferred_tasks_complete_across_a_triggerer_kill(crash: CrashRun) -> None:
    ok = False
    try:
        for index, flow_id in enumerate(crash.flows["deferred"]):
            ti = crash.tis[("deferred", index)]
            assert ti["state"] == "success" and ti["try_number"] == 1, ti
            assert crash.runs[flow_id] == 1
            log = crash.task_logs[f"deferred[{index}]"]
            # The job's end was noticed by the triggerer started during the run.
            assert f".trigger.{crash.new_triggerer}.log" in log and "Trigger fired event" in log, log[-3000:]
        assert {job["status"] for job in crash.jobs if job.get("_flowId") in crash.flows["deferred"]} == {"completed"}
        ok = True
    finally:
        record(crash, "triggerer", "triggerer_sigkill", ok)


def test_marking_a_deferred_task_failed_cancels_its_job(crash: CrashRun) -> None:
    ok = False
    try:
        ti = crash.tis[("marked_failed", -1)]
        assert ti["state"] == "failed", ti
        [job] = [job for job in crash.jobs if job.get("_flowId") == crash.flows["cancel"]]
        assert job["status"] == "canceled"
        cancels = [
            r
            for r in crash.requests
            if r["method"] == "PUT" and r["path"] == f"/v1/jobs/{job['_id']}/cancel" and not r.get("fault")
        ]
        assert len(cancels) == 1 and cancels[0]["status"] == 200, cancels
        assert "invoking on_kill" in crash.all_logs
        assert crash.run_state == "failed"  # because of the task marked failed, and only that
        others = {key: ti["state"] for key, ti in crash.tis.items() if key != ("marked_failed", -1)}
        assert set(others.values()) == {"success"}, others
        ok = True
    finally:
        record(crash, "marked_failed", "marked_failed", ok)


def test_a_task_killed_between_request_and_answer_runs_the_flow_once(crash: CrashRun) -> None:
    ok = False
    try:
        ti = crash.tis[("killed_after_request", -1)]
        assert ti["state"] == "success" and ti["try_number"] == 2, ti
        first = [row for row in crash.history if row["task_id"] == "killed_after_request" and row["try_number"] == 1]
        assert first and first[0]["pid"] == crash.killed_after_request_pid, crash.history
        flow = crash.flows["request_kill"]
        assert crash.runs[flow] == 1, crash.runs
        [job] = [job for job in crash.jobs if job.get("_flowId") == flow]
        assert job["status"] == "completed"
        log = crash.task_logs["killed_after_request"]
        tries = log.split("==> ")
        first_try = next(part for part in tries if part.startswith("attempt=1"))
        assert "Started Celigo flow" not in first_try, first_try[-2000:]  # killed before the answer came
        assert f"Celigo job {job['_id']} of a previous try already completed" in log, log[-3000:]
        # One POST reached the route whose answer is held (the held request never finishes, so it is counted by
        # the fault plan rather than the request log).
        assert crash.fault_counters.get("latency_after") == 1, crash.fault_counters
        ok = True
    finally:
        record(crash, "killed_after_request", "task_sigkill_after_request", ok)


def test_no_duplicate_no_orphan_and_no_token_left_behind(crash: CrashRun) -> None:
    duplicates, orphans = duplicates_and_orphans(crash)
    assert crash.runs == dict.fromkeys(crash.flows["all"], 1), crash.runs
    assert duplicates == 0 and not orphans, orphans
    assert crash.xcom_rows > 0 and crash.rendered_rows > 0, "the scan must cover XComs and rendered fields"
    assert "Celigo job" in crash.all_logs
    assert crash.log_places and any(place.kind == "XCom rows" for place in crash.db_places)
    assert not crash.leaks, f"token found in {crash.leaks}"
    assert sum(crash.fault_counters.get(kind, 0) for kind in ("error_500", "error_503", "drop")) == API_FAULT_LIMIT
    assert crash.api_faults_left == 0, "the run made too few calls to reach the plan's limit: figures would vary"
