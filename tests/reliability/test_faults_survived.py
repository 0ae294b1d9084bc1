"""Faults survived: the seven example DAGs run end to end (``airflow dags test``) while the emulator fails calls.

Each example gets its own emulator (demo seed, clock 20x, a random token) with a seeded fault plan: a share
of calls answered 500 or 503, dropped connections, 429s with ``Retry-After`` (a storm of three at the start and a
share throughout) and latency on every call; ``POST /flows/{id}/run`` is faulted more often (up to three times
per DAG). The emulator injects faults before its handler, so a faulted run creates no job and the hook's retry
of ``POST /run`` is safe. The connection allows ``max_retries`` 10 and ``max_retry_wait`` 5 s.

The examples run three at a time (each in its own Airflow home). Per example the checks are: every task ends
as without faults (the failure-handling example keeps its two intentional failures), the emulator's run
counter shows exactly the runs the tasks asked for (no duplicate from a retried call), no resource was created
twice, no job is left queued or running, faults of every kind were injected, and the token is nowhere in what
the run left behind (logs, XCom, rendered template fields, the rest of the Airflow DB).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import active_jobs, airflow_db_places, table_rows
from report import FIGURES, scan_for_token

from airflow_provider_celigo.testing import running_emulator
from airflow_provider_celigo.testing.dags import AirflowHome, DagTestResult
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
RUN_PATH = r"^/v1/flows/[0-9a-f]{24}/run$"
PARALLEL = 3
DAG_TIMEOUT = 360.0
CLOCK_SPEED = 20.0
# 10 retries: at the fault shares below, 11 failed attempts in a row happen about once in 2 million calls.
CONNECTION_EXTRA = {"max_retries": 10, "max_retry_wait": 5, "concurrency_level": 5, "timeout": 30}


def fault_plan(seed: int) -> dict[str, Any]:
    """The fault mix of one example (seeded, so a run is repeatable up to the order of its calls)."""
    return {
        "seed": seed,
        "share_500": 0.1,
        "share_503": 0.07,
        "share_drop": 0.06,
        "storm_share": 0.04,
        "storm_next": 3,
        "storm_retry_after": 1,
        "latency": 0.02,
        "routes": [
            {
                "method": "POST",
                "path": RUN_PATH,
                "share_drop": 0.3,
                "share_500": 0.2,
                "share_503": 0.1,
                "latency": 0.02,
                "limit": 3,
            },
        ],
    }


FAULT_MIX = (
    "500 10%, 503 7%, dropped connection 6%, 429 4% of calls, plus a storm of three 429s (Retry-After 1 s) at the "
    "start and 20 ms latency on every call; POST /flows/{id}/run faulted 60% of the time (drop 30%, 500 20%, "
    "503 10%), at most 3 times per DAG; connection max_retries 10, max_retry_wait 5 s"
)


@dataclass
class Outcome:
    """What one example did under faults."""

    dag_id: str
    token: str
    result: DagTestResult | None = None
    error: str = ""
    runs: dict[str, int] = field(default_factory=dict)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    run_call_faults: int = 0
    calls: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    home: AirflowHome | None = None


def account_data(server: Any) -> dict[str, Any]:
    account = server.admin.data()["accounts"]["default"]
    return {**account["resources"], **{k: v for k, v in account.items() if k != "resources"}}


def run_example(dag_id: str, seed: int, root: Path, template_db: Path) -> Outcome:
    """Run one example DAG under its fault plan and collect what the emulator saw."""
    token = f"reliability-{secrets.token_hex(12)}"
    outcome = Outcome(dag_id, token)
    with running_emulator(seed="demo", clock_speed=CLOCK_SPEED, tokens={token: "default"}) as server:
        home = AirflowHome(root / dag_id, template_db)
        outcome.home = home
        extra = {"base_url": server.base_url, **CONNECTION_EXTRA}
        home.set_connection("celigo_default", {"conn_type": "celigo", "password": token, "extra": extra})
        server.admin.set_faults(fault_plan(seed))
        try:
            outcome.result = home.dags_test(dag_id, EXAMPLES / f"{dag_id}.py", timeout=DAG_TIMEOUT)
        except Exception as error:  # reported by the test of this example
            outcome.error = f"{type(error).__name__}: {error}"
        server.admin.set_faults({})
        outcome.runs = server.admin.runs()
        outcome.jobs = server.admin.jobs()
        outcome.counters = dict(server.admin.faults()["counters"])
        calls = server.admin.requests_log()
        outcome.calls = len(calls)
        outcome.run_call_faults = sum(
            1 for entry in calls if entry.get("fault") and entry["method"] == "POST" and entry["path"].endswith("/run")
        )
        outcome.data = account_data(server)
    return outcome


EXAMPLE_IDS = [
    "example_celigo_run_flows",
    "example_celigo_deferrable_and_sensor",
    "example_celigo_deploy_integration",
    "example_celigo_resources_as_code",
    "example_celigo_fan_out",
    "example_celigo_feed_from_warehouse",
    "example_celigo_failure_handling",
]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, reliability_template_db: Path) -> Iterator[dict[str, Outcome]]:
    """Every example run under faults, ``PARALLEL`` at a time."""
    root = tmp_path_factory.mktemp("faults")
    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="faults") as pool:
        futures = {
            dag_id: pool.submit(run_example, dag_id, 7 + 11 * index, root, reliability_template_db)
            for index, dag_id in enumerate(EXAMPLE_IDS)
        }
        yield {dag_id: future.result() for dag_id, future in futures.items()}


# -- what each example must have done ------------------------------------------------------------------------


def names(data: dict[str, Any], kind: str) -> list[str]:
    """Return the names of the resources of a type, including those in the recycle bin."""
    live = [doc.get("name") for doc in data.get(kind, [])]
    binned = [
        entry["doc"].get("name") for entry in data.get("recycleBin", []) if entry.get("model", "").lower() + "s" == kind
    ]
    return [name for name in live + binned if isinstance(name, str)]


Expectation = Callable[[Outcome], tuple[dict[str, str] | None, dict[str, int], list[str]]]


def all_success(flows: dict[str, int]) -> Expectation:
    return lambda outcome: (None, flows, [])


def deploy_expectation(outcome: Outcome) -> tuple[dict[str, str] | None, dict[str, int], list[str]]:
    report = outcome.result.xcom("report") if outcome.result else None
    integration = (report or {}).get("integration_id")
    cloned = [flow["_id"] for flow in outcome.data.get("flows", []) if flow.get("_integrationId") == integration]
    problems = [] if len(cloned) == 2 else [f"expected 2 cloned flows, found {len(cloned)}"]
    copies = names(outcome.data, "integrations").count("Acme integration")
    if copies != 1:
        problems.append(f"{copies} integrations named 'Acme integration' (duplicate clone?)")
    return None, dict.fromkeys(cloned, 1), problems


def resources_expectation(outcome: Outcome) -> tuple[dict[str, str] | None, dict[str, int], list[str]]:
    created = outcome.result.xcom("create_flow") if outcome.result else None
    flow_id = (created or {}).get("_id", "?")
    problems = []
    for kind, name in (
        ("exports", "Get orders"),
        ("imports", "Load orders"),
        ("flows", "Orders API to warehouse (nightly)"),
    ):
        copies = names(outcome.data, kind).count(name)
        if copies != 1:
            problems.append(f"{copies} {kind} named {name!r} (a retried create must not create twice)")
    connections = [name for name in names(outcome.data, "connections") if name.startswith("Orders API (")]
    if len(connections) != 1:
        problems.append(f"{len(connections)} connections named 'Orders API (...)'")
    return None, {flow_id: 1}, problems


def failure_expectation(outcome: Outcome) -> tuple[dict[str, str] | None, dict[str, int], list[str]]:
    states = {
        "invoices_policy_warn": "success",
        "invoices_policy_threshold": "success",
        "invoices_policy_fail": "failed",
        "refunds_fail_with_retry": "failed",
        "report": "success",
    }
    problems = []
    if outcome.result and outcome.result.tasks and outcome.result.task("refunds_fail_with_retry").try_number != 2:
        problems.append("refunds_fail_with_retry did not use its one retry")
    # three policy runs of the invoices flow; the failed refunds job is run afresh by the task's retry
    return states, {DEMO_IDS["flow_invoices"]: 3, DEMO_IDS["flow_refunds"]: 2}, problems


SEGMENTS = {DEMO_IDS[key]: 1 for key in DEMO_IDS if key.startswith("flow_segment_")}
EXPECTATIONS: dict[str, Expectation] = {
    "example_celigo_run_flows": all_success({DEMO_IDS["flow_orders"]: 1, DEMO_IDS["flow_customers"]: 1}),
    "example_celigo_deferrable_and_sensor": all_success({DEMO_IDS["flow_inventory"]: 1, DEMO_IDS["flow_orders"]: 1}),
    "example_celigo_deploy_integration": deploy_expectation,
    "example_celigo_resources_as_code": resources_expectation,
    "example_celigo_fan_out": all_success(SEGMENTS),
    "example_celigo_feed_from_warehouse": all_success({DEMO_IDS["flow_orders"]: 1}),
    "example_celigo_failure_handling": failure_expectation,
}


def check(outcome: Outcome) -> tuple[list[str], int, int]:
    """Return the problems of one outcome, its duplicate runs or resources, and its orphaned jobs."""
    result = outcome.result
    if result is None:
        return [f"the run did not happen: {outcome.error}"], 0, 0
    problems = [] if not result.timed_out else [f"timed out after {result.seconds:.0f}s"]
    states, expected_runs, more = EXPECTATIONS[outcome.dag_id](outcome)
    problems += more
    if not result.tasks:
        problems.append("no task instances")
    elif states is None:
        if set(result.states.values()) != {"success"}:
            problems.append(f"not every task succeeded: {result.states}")
    elif result.states != states:
        problems.append(f"task states {result.states}, expected {states}")
    duplicates = sum(max(0, count - expected_runs.get(flow, 0)) for flow, count in outcome.runs.items())
    duplicates += sum(1 for p in more if "twice" in p or "duplicate" in p)
    if outcome.runs != expected_runs:
        problems.append(f"flow runs {outcome.runs}, expected {expected_runs}")
    orphans = active_jobs(outcome.jobs)
    if orphans:
        problems.append(f"jobs left active: {[(job.get('_id'), job.get('status')) for job in orphans]}")
    return problems, duplicates, len(orphans)


@pytest.mark.parametrize("dag_id", EXAMPLE_IDS)
def test_example_survives_faults(dag_id: str, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[dag_id]
    problems, duplicates, orphans = check(outcome)
    family = FIGURES["faults"]
    family.scenarios += 1
    family.duplicates += duplicates
    family.orphaned_jobs += orphans
    family.add_faults(outcome.counters, survived=not problems)

    leaks: list[str] = []
    if outcome.home is not None:
        places: dict[str, str | bytes] = {f"{dag_id}:logs": outcome.home.all_logs_text()}
        places.update({f"{dag_id}:{name}": text for name, text in airflow_db_places(outcome.home.database).items()})
        leaks = scan_for_token(outcome.token, places, "faults")
        assert table_rows(outcome.home.database, "xcom") > 0, "the scan must cover real XCom values"
        assert table_rows(outcome.home.database, "rendered_task_instance_fields") > 0, "and rendered fields"
        assert "Celigo" in str(places[f"{dag_id}:logs"]), "and real task logs"

    detail = outcome.result.describe() if outcome.result else outcome.error
    assert not problems, f"{dag_id} under faults {outcome.counters}: {problems}\n{detail}"
    assert duplicates == 0 and orphans == 0
    assert not leaks, f"token found in {leaks}"


def test_every_fault_kind_was_injected_and_survived(outcomes: dict[str, Outcome]) -> None:
    """The plan really faulted: each kind fired, POST /run was faulted, and the retries show in the task logs."""
    totals: dict[str, int] = {}
    for outcome in outcomes.values():
        for kind, count in outcome.counters.items():
            totals[kind] = totals.get(kind, 0) + count
    run_faults = sum(outcome.run_call_faults for outcome in outcomes.values())
    calls = sum(outcome.calls for outcome in outcomes.values())
    note = (
        f"fault mix: {FAULT_MIX}; injected {totals} into {calls} API calls, "
        f"{run_faults} of them on POST /flows/{{id}}/run"
    )
    if note not in FIGURES["faults"].notes:
        FIGURES["faults"].notes.append(note)
    for kind in ("error_500", "error_503", "drop", "storm_429", "latency"):
        assert totals.get(kind, 0) > 0, f"no {kind} injected: {totals}"
    assert run_faults >= len(outcomes), f"only {run_faults} faults on POST /run"
    retried = [o.dag_id for o in outcomes.values() if o.home and "Celigo call failed" in o.home.all_logs_text()]
    assert len(retried) == len(outcomes), f"retries not logged for {set(outcomes) - set(retried)}"
