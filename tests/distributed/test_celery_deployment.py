"""Issue 15: the provider on a distributed Airflow (CeleryExecutor, Redis, PostgreSQL, two worker hosts).

One ``CeleryCluster`` (see ``celery_cluster.py``): scheduler, api-server, dag-processor, PostgreSQL, Redis and
the emulator (HTTPS, private CA made by the test) on the core host; one Celery worker and one triggerer on each
of two other hosts (network namespaces with their own hostnames). The connection's ``base_url`` is
``https://10.77.0.1:8443/v1``: workers (requests) and triggerers (httpx) verify it against the private CA.

1. **TLS**: on a worker host, the sync and the async hook both reach the emulator with the CA in
   ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``, and both refuse it (certificate verification) without.
2. **Main run**: 4 deferrable + 4 blocking flows of 6 s at ``concurrency_level=3``, pool made by
   ``airflow-celigo pools sync``: every task succeeds, tasks ran on both hosts, the deferrable ones went
   through a triggerer, the emulator never had more than 3 jobs running, every flow ran once.
3. **Kills**: one blocking flow of 60 s and one deferrable flow of 40 s. Once the blocking job runs and the
   trigger is held, the worker running the blocking task is SIGKILLed (its whole pid tree: a host crash) and so
   is the triggerer holding the trigger. The scheduler fails the orphaned task (heartbeat timeout), its retry on
   the other host reattaches to the same Celigo job; the other triggerer takes the trigger over; both tasks
   succeed and each flow ran once.

The measured figures are printed at the end of the session (``conftest.py``) as one ``distributed:`` line.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from celery_cluster import BIN, EMULATOR_TOKEN, HOSTS, CeleryCluster, check_can_run
from distributed_report import FIGURES

from airflow_provider_celigo.testing.emulator.seeds import demo_flow_copies

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]

DAG_ID = "celigo_distributed"
POOL = "celigo_celigo_default"
LEVEL = 3
DAG_FILE = Path(__file__).parent / "dags" / "celigo_distributed_dag.py"
RUN_TASKS = ("run_deferred", "run_blocking")
MAIN_JOB_SECONDS = 6
KILL_BLOCKING_SECONDS = 60  # outlasts the kill, the heartbeat timeout, the retry delay and the retry's start
KILL_DEFERRED_SECONDS = 40  # outlasts the kill and the other triggerer's takeover
SETTINGS = {
    # Airflow 3.3.2 can fail a deferred task whose trigger fires within this interval of defer() (deployment.py).
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
    # A SIGKILLed worker's task is failed (and retried) this long after its last heartbeat; default 300 s.
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    # A triggerer silent this long loses its triggers to the other one; default 30 s.
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "20",
}
# Run on a worker host: call the emulator once with the sync hook (requests) and once with the async hook (httpx).
HOOKS_OVER_TLS = """
import asyncio, json
from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

async def token_info():
    hook = CeligoAsyncHook()
    try:
        return await hook.request("GET", "/tokenInfo")
    finally:
        await hook.aclose()

outcome = {}
for name, call in (("requests", lambda: CeligoHook().get_token_info()), ("httpx", lambda: asyncio.run(token_info()))):
    try:
        call()
        outcome[name] = "ok"
    except Exception as error:
        outcome[name] = f"{type(error).__name__}: {error}"
print(json.dumps(outcome))
"""


def flow_ids(batch: int, count: int) -> list[str]:
    """Return ``count`` flow ids (24 hex digits) distinct across batches."""
    return [f"7d15c{batch:03x}{index:016x}" for index in range(count)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryCluster]:
    """The distributed deployment, ready and with the test DAG serialized; removed afterwards."""
    reason = check_can_run()
    if reason:
        pytest.fail(f"the distributed deployment test cannot run here: {reason}")
    dags = tmp_path_factory.mktemp("distributed_dags")
    (dags / DAG_FILE.name).write_text(DAG_FILE.read_text())
    began = time.monotonic()
    with CeleryCluster(dags, tmp_path_factory.mktemp("distributed"), env=SETTINGS, concurrency_level=LEVEL) as ready:
        print(f"\n[distributed] cluster in {ready.run_dir}, ready in {time.monotonic() - began:.1f}s")
        ready.wait_for_dag(DAG_ID)
        yield ready
    print(f"[distributed] whole cluster life {time.monotonic() - began:.1f}s (stopped and removed)")


class Phase:
    """One DAG run on fresh flows: its set-up, what the emulator measured, and its checks."""

    def __init__(self, cluster: CeleryCluster, name: str, batch: int, deferred: int, blocking: int) -> None:
        self.cluster, self.name = cluster, name
        self.run_id = f"{name}_{int(time.time())}"
        flows = flow_ids(batch, deferred + blocking)
        self.deferred, self.blocking = flows[:deferred], flows[deferred:]
        self.runs_before: dict[str, int] = {}

    @property
    def flows(self) -> list[str]:
        return [*self.deferred, *self.blocking]

    def seed(self, seconds: dict[str, float]) -> None:
        """Create the flows; ``seconds`` maps a flow to its job length (half export, half import)."""
        for length in sorted(set(seconds.values())):
            scenario = {"export_seconds": length / 2, "import_seconds": length / 2}
            flows = [flow for flow, flow_length in seconds.items() if flow_length == length]
            self.cluster.admin("seed", demo_flow_copies(flows, scenario, name=f"distributed {self.name}"))
        self.runs_before = self.cluster.admin("runs")
        self.cluster.admin("reset_stats")

    def trigger(self, sync_pools: bool = False) -> str:
        """Trigger the phase's run (after ``airflow-celigo pools sync`` if asked); return what the CLI printed."""
        conf = {"deferred_flows": self.deferred, "blocking_flows": self.blocking}
        return self.cluster.trigger(DAG_ID, self.run_id, conf, sync_pools=sync_pools)

    def flow_runs(self) -> dict[str, int]:
        """Return the runs each flow of this phase got during it."""
        after = self.cluster.admin("runs")
        return {flow: after.get(flow, 0) - self.runs_before.get(flow, 0) for flow in self.flows}

    def peak_running(self) -> int:
        stats = self.cluster.admin("stats")
        return int(max(stats["peak_running_jobs"]["account"].values(), default=0))

    def run_flow_tis(self) -> list[dict[str, Any]]:
        return [
            ti
            for ti in self.cluster.task_instances(DAG_ID, self.run_id)
            if ti["task_id"] in RUN_TASKS and ti["map_index"] >= 0
        ]

    def log(self, task_id: str, map_index: int, attempt: int | None = None, trigger: bool = False) -> str:
        """Return the task's ``attempt=N.log`` (all attempts when None) or its triggerers' logs."""
        files = self.cluster.task_log_files(DAG_ID, self.run_id, task_id, map_index)
        chosen = [
            path
            for path in files
            if (".trigger." in path.name) == trigger
            and (attempt is None or path.name.startswith(f"attempt={attempt}."))
        ]
        return "\n".join(path.read_text(errors="replace") for path in chosen)

    def trigger_log_jobs(self, map_index: int, task_id: str = "run_deferred") -> dict[int, str]:
        """Return triggerer job id -> its trigger log of task ``task_id[map_index]`` (none: never deferred)."""
        files = self.cluster.task_log_files(DAG_ID, self.run_id, task_id, map_index)
        found = {}
        for path in files:
            match = re.search(r"\.trigger\.(\d+)\.log$", path.name)
            if match:
                found[int(match.group(1))] = path.read_text(errors="replace")
        return found

    def job_of(self, flow: str) -> dict[str, Any]:
        """Return the emulator's only job of ``flow``."""
        jobs = [job for job in self.cluster.admin("jobs") if job.get("_flowId") == flow and job.get("type") == "flow"]
        assert len(jobs) == 1, jobs
        return dict(jobs[0])


def check_tls(cluster: CeleryCluster) -> dict[str, dict[str, str]]:
    """Run ``HOOKS_OVER_TLS`` on worker host 1 with the private CA and without it; return both outcomes."""
    host = next(iter(HOSTS))
    without_ca = {"REQUESTS_CA_BUNDLE": None, "SSL_CERT_FILE": None}
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {
            label: pool.submit(cluster.run_on_host, host, [str(BIN / "python"), "-c", HOOKS_OVER_TLS], env)
            for label, env in (("with_ca", {}), ("without_ca", without_ca))
        }
        results = {label: future.result() for label, future in runs.items()}
    outcomes = {}
    for label, done in results.items():
        assert done.returncode == 0, (label, done.stdout[-2000:], done.stderr[-3000:])
        outcomes[label] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcomes


def wait_for_kill_moment(cluster: CeleryCluster, phase: Phase, timeout: float = 240) -> tuple[str, int]:
    """Wait until the blocking job runs on a worker host and the deferred task's trigger is held by a triggerer;
    return (hostname of the blocking task, triggerer job id holding the trigger)."""
    blocking_flow = phase.blocking[0]

    def moment() -> tuple[str, int] | None:
        tis = {ti["task_id"]: ti for ti in phase.run_flow_tis()}
        blocking, deferred = tis.get("run_blocking"), tis.get("run_deferred")
        if not blocking or not deferred or blocking["state"] != "running" or deferred["state"] != "deferred":
            return None
        if not blocking["hostname"] or blocking_flow not in {
            job.get("_flowId") for job in cluster.admin("jobs") if job.get("status") == "running"
        }:
            return None
        holder = cluster.query(
            "SELECT t.triggerer_id FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id "
            "WHERE ti.dag_id = ? AND ti.run_id = ? AND ti.task_id = 'run_deferred' AND t.triggerer_id IS NOT NULL",
            (DAG_ID, phase.run_id),
        )
        if not holder:
            return None
        time.sleep(2)  # a little into the job: the task has polled it at least once
        return str(blocking["hostname"]), int(holder[0]["triggerer_id"])

    return cluster.until(moment, timeout, "the blocking job running and the trigger held", interval=0.5)


def test_celery_deployment_on_two_hosts(cluster: CeleryCluster) -> None:
    """TLS to the emulator from a worker host, the main run under the pool cap, then a worker and a triggerer
    SIGKILLed mid-job; the figures go to the session summary."""
    began = time.monotonic()

    # 1. Verified TLS: the CA is what makes both hooks accept the emulator's certificate (checked below).
    tls_check = ThreadPoolExecutor(max_workers=1).submit(check_tls, cluster)

    # 2. Main run: 4 deferrable + 4 blocking flows, pool of 3 (made by `airflow-celigo pools sync`) across hosts.
    main = Phase(cluster, "main", batch=1, deferred=4, blocking=4)
    main.seed(dict.fromkeys(main.flows, MAIN_JOB_SECONDS))
    printed = main.trigger(sync_pools=True)
    print(f"[pools] airflow-celigo pools sync: {printed.strip().splitlines()[:1]}")
    assert re.search(rf"^create {POOL} slots={LEVEL} include_deferred=True$", printed, re.M), printed
    pool = cluster.query("SELECT slots, include_deferred FROM slot_pool WHERE pool = ?", (POOL,))
    assert pool == [{"slots": LEVEL, "include_deferred": True}], pool
    with cluster.observe(DAG_ID, main.run_id) as observer:
        state = cluster.wait_for_run(DAG_ID, main.run_id, timeout=400)
    tls = tls_check.result()  # ran on a worker host while the main run went on
    print(f"[tls] hooks on a worker host: {tls}")
    assert tls["with_ca"] == {"requests": "ok", "httpx": "ok"}, tls
    for client in ("requests", "httpx"):
        assert "TLS certificate verification failed" in tls["without_ca"][client], tls
    main_tis = main.run_flow_tis()
    main_peak, main_runs = main.peak_running(), main.flow_runs()
    print(f"[main] {state} in {time.monotonic() - began:.0f}s; emulator peak running jobs {main_peak} (level {LEVEL})")
    print(f"[main] hosts {sorted({ti['hostname'] for ti in main_tis})}; most TIs per state: {observer.peak_by_state}")
    assert state == "success", main_tis
    assert len(main_tis) == 8 and {ti["state"] for ti in main_tis} == {"success"}, main_tis
    assert {ti["pool"] for ti in main_tis} == {POOL}
    assert 1 <= main_peak <= LEVEL
    assert main_runs == dict.fromkeys(main.flows, 1), main_runs
    main_triggerers: set[int] = set(observer.triggerer_ids)
    for ti in main_tis:
        seen = observer.states.get((ti["task_id"], ti["map_index"]), set())
        if ti["task_id"] == "run_deferred":
            fired = {
                job: text
                for job, text in main.trigger_log_jobs(ti["map_index"]).items()
                if "Trigger fired event" in text
            }
            assert "deferred" in seen and fired, (ti, seen)
            main_triggerers.update(fired)
        else:
            assert "deferred" not in seen and not main.trigger_log_jobs(ti["map_index"], ti["task_id"]), (ti, seen)

    # 3. Kills: the worker running the blocking job and the triggerer holding the trigger, mid-job.
    kill = Phase(cluster, "kill", batch=2, deferred=1, blocking=1)
    kill.seed({kill.deferred[0]: KILL_DEFERRED_SECONDS, kill.blocking[0]: KILL_BLOCKING_SECONDS})
    kill.trigger()
    with cluster.observe(DAG_ID, kill.run_id) as kill_observer:
        worker_host, holder_id = wait_for_kill_moment(cluster, kill)
        holder_host = cluster.query("SELECT hostname FROM job WHERE id = ?", (holder_id,))[0]["hostname"]
        worker, triggerer = cluster.daemon_on("worker", worker_host), cluster.daemon_on("triggerer", holder_host)
        job_before = kill.job_of(kill.blocking[0])
        killed_at = time.monotonic()
        worker_pids, triggerer_pids = cluster.kill_daemon(worker), cluster.kill_daemon(triggerer)
        print(f"[kill] SIGKILLed {worker} on {worker_host} ({len(worker_pids)} pids) with job {job_before['_id']}")
        print(f"[kill] SIGKILLed {triggerer} on {holder_host} ({len(triggerer_pids)} pids), job {holder_id}")
        state = cluster.wait_for_run(DAG_ID, kill.run_id, timeout=420)
    print(f"[kill] run {state} {time.monotonic() - killed_at:.0f}s after the kills")
    kill_tis = {ti["task_id"]: ti for ti in kill.run_flow_tis()}
    history = cluster.task_instance_history(DAG_ID, kill.run_id)
    assert state == "success", (kill_tis, history)
    assert {ti["state"] for ti in kill_tis.values()} == {"success"}, kill_tis
    assert kill.flow_runs() == dict.fromkeys(kill.flows, 1), kill.flow_runs()

    blocking = kill_tis["run_blocking"]
    first_try = [row for row in history if row["task_id"] == "run_blocking" and row["try_number"] == 1]
    assert first_try and first_try[0]["hostname"] == worker_host, history
    assert blocking["try_number"] == 2 and blocking["hostname"] != worker_host, (blocking, history)
    retry_log = kill.log("run_blocking", 0, attempt=2)
    reattached = re.search(rf"Try 2: reattaching to Celigo job {job_before['_id']} \((\w+)\)", retry_log)
    reused = f"Try 2: Celigo job {job_before['_id']} of a previous try already completed" in retry_log
    assert reattached or reused, retry_log[-3000:]
    retry_path = f"reattached to job {job_before['_id']} ({reattached.group(1)})" if reattached else "reused it (done)"

    survivors = {job: text for job, text in kill.trigger_log_jobs(0).items() if job != holder_id}
    fired_by = [job for job, text in survivors.items() if "Trigger fired event" in text]
    assert fired_by, (kill.trigger_log_jobs(0).keys(), kill_observer.triggerer_ids)
    taker_host = cluster.query("SELECT hostname FROM job WHERE id = ?", (fired_by[0],))[0]["hostname"]
    assert taker_host != holder_host, (taker_host, holder_host)
    assert EMULATOR_TOKEN not in cluster.logs_text()

    # 4. The figures, all measured.
    all_tis = main_tis + list(kill_tis.values())
    trigger_jobs = main_triggerers | kill_observer.triggerer_ids | {holder_id, *fired_by}
    triggerer_hosts = {
        row["hostname"]
        for row in cluster.query("SELECT id, hostname FROM job WHERE job_type = 'TriggererJob'")
        if row["id"] in trigger_jobs
    }
    task_hosts = {ti["hostname"] for ti in all_tis} | {row["hostname"] for row in history}
    workers = [name for name in ("worker1", "worker2") if "Executing workload in Celery" in cluster.daemon_log(name)]
    celery_results = cluster.query("SELECT count(*) AS n FROM celery_taskmeta WHERE status = 'SUCCESS'")[0]["n"]
    runs = [*main_runs.values(), *kill.flow_runs().values()]
    FIGURES.update(
        {
            "executor": cluster.env["AIRFLOW__CORE__EXECUTOR"] if celery_results else "none",
            "hosts": len(task_hosts),
            "workers": len(workers),
            "triggerers": len(triggerer_hosts),
            "tasks": len(all_tis),
            "runs_per_flow": max(runs),
            "peak_running": max(main_peak, kill.peak_running()),
            "level": LEVEL,
            "kills": [
                f"worker on {worker_host} ({len(worker_pids)} pids) SIGKILLed mid-job -> try 2 on "
                f"{blocking['hostname']} {retry_path}; the flow ran {kill.flow_runs()[kill.blocking[0]]} time(s)",
                f"triggerer on {holder_host} SIGKILLed holding the trigger -> taken over by the triggerer on "
                f"{taker_host}; every task succeeded",
            ],
        }
    )
    print(f"[distributed] test body {time.monotonic() - began:.0f}s; {FIGURES}")
    assert celery_results >= len(all_tis), celery_results
    assert task_hosts == set(HOSTS), task_hosts
    assert len(workers) == 2 and len(triggerer_hosts) == 2, (workers, triggerer_hosts)
    assert set(runs) == {1}, runs
    assert FIGURES["peak_running"] <= LEVEL
