"""Faults survived: the seven example DAGs run end to end (``airflow dags test``) while the emulator fails calls.

Each example gets its own emulator (demo seed, clock 20x, a fixed token) with a seeded fault plan of two parts:

- **Reads and everything else** (``GET``, pings): a share of calls answered 500 or 503, dropped connections,
  429s with ``Retry-After`` (a storm of three at the start and a share throughout), latency on every call,
  up to ``READ_FAULT_LIMIT`` faults per example (fewer in the smallest). The rule draws from its own seeded
  generator, so the n-th read gets the same fault whatever the timing; every example reads more than enough to
  reach its limit (checked), so these counts are the same in every run, although which read gets a fault is not.
- **Write calls**, one rule per write route the examples use, each with one kind of fault at a share of 1.0
  and a limit: the first calls of the route get exactly that fault. ``POST /flows/{id}/run`` of each known flow
  gets a fault of the kinds in ``RUN_FAULTS`` (the DAGs' flows take them in turn: dropped or answered 500
  *after the handler*, i.e. the run started and its answer was lost, or dropped, 500 or 503 before it);
  other flows' runs (cloned, created) lose their answer after the handler; resource creates, the clone, the
  deletes, the state ``PUT`` and the lookup-cache write each get one fault, the flow ``PATCH`` (enable, update)
  two (see ``WRITE_RULES``). These rules draw nothing from the plan's random generator, so the faults
  on write calls are the same in every run (as long as the provider makes the same calls).

The connection allows ``max_retries`` 10 and ``max_retry_wait`` 5 s. The examples run three at a time (each in
its own Airflow home). Per example the checks are: every task ends as without faults (the failure-handling
example keeps its two intentional failures), the emulator's run counter shows exactly the runs the tasks asked
for (no duplicate from a retried call whose answer was lost), no job is left queued or running, and the token
is in none of the places the run left behind (each log file, each XCom row, each other non-empty table of the
Airflow DB, and the DB file's freed pages). Resources created twice (a lost answer to a create or clone, sent
again) are counted and reported as their own figure; they do not fail the test yet.

Every figure is computed once, in the ``outcomes`` fixture, so the summary does not depend on test order.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import active_jobs, airflow_db_places, log_file_places, table_rows
from report import FIGURES, Place, scan_for_token

from airflow_provider_celigo.testing import running_emulator
from airflow_provider_celigo.testing.dags import AirflowHome, DagTestResult
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
HEX = "[0-9a-f]{24}"
RUN_PATH = rf"^/v1/flows/{HEX}/run$"
PARALLEL = 3
DAG_TIMEOUT = 360.0
CLOCK_SPEED = 20.0
SEED = 7
LATENCY = 0.02
# 10 retries: at the read shares below, 11 failed attempts in a row happen about once in 2 million calls.
CONNECTION_EXTRA = {"max_retries": 10, "max_retry_wait": 5, "concurrency_level": 5, "timeout": 30}
# Faults on reads per example: the first READ_FAULT_LIMIT draws of the read rule that fault (the seeds below
# reach 6 within 9 to 23 reads, about half of what each example reads). The smallest example (one flow run,
# about ten reads) gets 4 (within 6 reads).
READ_FAULT_LIMIT = 6
SMALL_EXAMPLE_READ_FAULT_LIMIT = 4
READ_FAULTS = {
    "share_500": 0.1,
    "share_503": 0.07,
    "share_drop": 0.06,
    "storm_share": 0.04,
    "storm_next": 3,
    "storm_retry_after": 1,
    "latency": LATENCY,
}
# (plan key, limit): the faults of POST /run of the DAGs' known flows, taken in turn.
RUN_FAULTS = (("share_drop_after", 1), ("share_500_after", 1), ("share_drop", 2), ("share_500", 1), ("share_503", 1))
# (method, path regex, plan key, limit): every other write route the examples use.
WRITE_RULES = (
    ("POST", r"^/v1/connections$", "share_drop_after", 1),
    ("POST", r"^/v1/exports$", "share_500_after", 1),
    ("POST", r"^/v1/imports$", "share_503", 1),
    ("POST", r"^/v1/flows$", "share_drop", 1),
    ("POST", rf"^/v1/integrations/{HEX}/clone$", "share_500_after", 1),
    ("PATCH", rf"^/v1/flows/{HEX}$", "share_500_after", 2),  # enabling a flow, and the update (a JSON Patch)
    ("DELETE", rf"^/v1/flows/{HEX}$", "share_503", 1),
    ("DELETE", rf"^/v1/exports/{HEX}$", "share_500", 1),
    ("DELETE", rf"^/v1/imports/{HEX}$", "share_drop_after", 1),
    ("DELETE", rf"^/v1/connections/{HEX}$", "share_500_after", 1),
    ("PUT", r"^/v1/state/", "share_drop_after", 1),
    ("POST", rf"^/v1/lookupcaches/{HEX}/data$", "share_500_after", 1),
)
SEGMENTS = sorted(DEMO_IDS[key] for key in DEMO_IDS if key.startswith("flow_segment_"))
# The flows each example runs whose ids are known in advance (the others are cloned or created by the DAG).
RUN_FLOWS: dict[str, list[str]] = {
    "example_celigo_run_flows": [
        DEMO_IDS["flow_orders"],
        DEMO_IDS["flow_customers"],
        DEMO_IDS["flow_storefront_orders"],
    ],
    "example_celigo_deferrable_and_sensor": [DEMO_IDS["flow_orders"], DEMO_IDS["flow_inventory"]],
    "example_celigo_deploy_integration": [],
    "example_celigo_resources_as_code": [],
    "example_celigo_fan_out": SEGMENTS,
    "example_celigo_feed_from_warehouse": [DEMO_IDS["flow_orders"]],
    "example_celigo_failure_handling": [DEMO_IDS["flow_invoices"], DEMO_IDS["flow_refunds"]],
}
EXAMPLE_IDS = list(RUN_FLOWS)
KIND_OF_KEY = {
    "share_500": "error_500",
    "share_503": "error_503",
    "share_drop": "drop",
    "share_500_after": "error_500_after",
    "share_drop_after": "drop_after",
}


def token_for(dag_id: str) -> str:
    """A fixed token per example (the same in every run)."""
    return "reliability-" + hashlib.sha256(f"faults:{dag_id}".encode()).hexdigest()[:24]


def write_routes(index: int, dag_id: str) -> list[dict[str, Any]]:
    """The write rules of one example: POST /run per known flow (kinds in turn), other flows, other writes."""
    routes = []
    for position, flow_id in enumerate(RUN_FLOWS[dag_id]):
        key, limit = RUN_FAULTS[(index + position) % len(RUN_FAULTS)]
        routes.append({"method": "POST", "path": f"^/v1/flows/{flow_id}/run$", key: 1.0, "limit": limit})
    other_runs = "share_drop_after" if index % 2 == 0 else "share_500_after"
    routes.append({"method": "POST", "path": RUN_PATH, other_runs: 1.0, "limit": 2})
    routes += [{"method": method, "path": path, key: 1.0, "limit": limit} for method, path, key, limit in WRITE_RULES]
    return [{**route, "latency": LATENCY} for route in routes]


def read_fault_limit(dag_id: str) -> int:
    """How many read faults one example gets (the smallest example makes too few reads for the full count)."""
    return SMALL_EXAMPLE_READ_FAULT_LIMIT if dag_id == "example_celigo_feed_from_warehouse" else READ_FAULT_LIMIT


def fault_plan(index: int, dag_id: str) -> dict[str, Any]:
    """The fault plan of one example: seeded faults on reads, fixed faults on write calls."""
    reads = {**READ_FAULTS, "limit": read_fault_limit(dag_id)}
    return {"seed": SEED + 11 * index, **reads, "routes": write_routes(index, dag_id)}


FAULT_MIX = (
    "reads: 500 10%, 503 7%, dropped connection 6%, 429 4% of calls, plus a storm of three 429s (Retry-After 1 s) "
    f"at the start, the first {READ_FAULT_LIMIT} faults per example ({SMALL_EXAMPLE_READ_FAULT_LIMIT} in the "
    "feed-from-warehouse one); 20 ms latency on every call; "
    "write calls: POST /flows/{id}/run of each known flow faulted once "
    "or twice (the flows take in turn: dropped after the handler, 500 after the handler, dropped twice, 500, 503), "
    "the first two runs of other flows dropped or answered 500 after the handler, and one fault on each of: "
    "connection create (dropped after), export create (500 after), import create (503), flow create (dropped), "
    "clone (500 after), deletes of the flow (503), "
    "export (500), import (dropped after) and connection (500 after), state PUT (dropped after), lookup-cache "
    "write (500 after), and the first two flow PATCHes (enable, update: 500 after); connection max_retries 10, "
    "max_retry_wait 5 s"
)


def write_rule_of(plan: dict[str, Any], method: str, path: str) -> int | None:
    """Return the index of the plan's route rule that covers a request (the first match), None for reads."""
    for number, rule in enumerate(plan["routes"]):
        if rule["method"] == method and re.search(rule["path"], path):
            return number
    return None


@dataclass
class Outcome:
    """What one example did under faults."""

    dag_id: str
    token: str
    plan: dict[str, Any] = field(default_factory=dict)
    result: DagTestResult | None = None
    error: str = ""
    runs: dict[str, int] = field(default_factory=dict)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    read_faults_left: int | None = None  # what the read rule's limit had left at the end (0: all injected)
    requests: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    home: AirflowHome | None = None

    @property
    def write_faults(self) -> Counter[str]:
        """The faults injected into write calls, by kind (from the request log: only faults that happened)."""
        return Counter(
            entry["fault"]
            for entry in self.requests
            if entry.get("fault") and write_rule_of(self.plan, entry["method"], entry["path"]) is not None
        )

    @property
    def run_faults(self) -> Counter[str]:
        """The faults injected into POST /flows/{id}/run, by kind."""
        return Counter(
            entry["fault"]
            for entry in self.requests
            if entry.get("fault") and entry["method"] == "POST" and re.search(RUN_PATH, entry["path"])
        )

    @property
    def rules_fired(self) -> set[int]:
        """The plan's route rules that injected at least one fault."""
        return {
            number
            for entry in self.requests
            if entry.get("fault")
            for number in [write_rule_of(self.plan, entry["method"], entry["path"])]
            if number is not None
        }


def account_data(server: Any) -> dict[str, Any]:
    account = server.admin.data()["accounts"]["default"]
    return {**account["resources"], **{k: v for k, v in account.items() if k != "resources"}}


def run_example(index: int, dag_id: str, root: Path, template_db: Path) -> Outcome:
    """Run one example DAG under its fault plan and collect what the emulator saw."""
    token = token_for(dag_id)
    outcome = Outcome(dag_id, token, plan=fault_plan(index, dag_id))
    with running_emulator(seed="demo", clock_speed=CLOCK_SPEED, tokens={token: "default"}) as server:
        home = AirflowHome(root / dag_id, template_db)
        outcome.home = home
        extra = {"base_url": server.base_url, **CONNECTION_EXTRA}
        home.set_connection("celigo_default", {"conn_type": "celigo", "password": token, "extra": extra})
        server.admin.set_faults(outcome.plan)
        try:
            outcome.result = home.dags_test(dag_id, EXAMPLES / f"{dag_id}.py", timeout=DAG_TIMEOUT)
        except Exception as error:  # reported by the test of this example
            outcome.error = f"{type(error).__name__}: {error}"
        outcome.read_faults_left = server.admin.faults()["plan"].get("limit")
        server.admin.set_faults({})
        outcome.runs = server.admin.runs()
        outcome.jobs = server.admin.jobs()
        outcome.counters = dict(server.admin.faults()["counters"])
        outcome.requests = server.admin.requests_log()
        outcome.data = account_data(server)
    return outcome


# -- what each example must have done ------------------------------------------------------------------------


def names(data: dict[str, Any], kind: str) -> list[str]:
    """Return the names of the resources of a type, including those in the recycle bin."""
    live = [doc.get("name") for doc in data.get(kind, [])]
    binned = [
        entry["doc"].get("name") for entry in data.get("recycleBin", []) if entry.get("model", "").lower() + "s" == kind
    ]
    return [name for name in live + binned if isinstance(name, str)]


@dataclass
class Expected:
    """What one example must have done: task states (None: all success), runs per flow, problems found, and the
    resources it created more than once (``{description: extra copies}``, reported, not failed on yet)."""

    states: dict[str, str] | None
    runs: dict[str, int]
    problems: list[str] = field(default_factory=list)
    twice: dict[str, int] = field(default_factory=dict)


Expectation = Callable[[Outcome], Expected]


def all_success(flows: dict[str, int]) -> Expectation:
    return lambda outcome: Expected(None, flows)


def copies_beyond_one(outcome: Outcome, kind: str, match: Callable[[str], bool], what: str) -> dict[str, int]:
    copies = sum(1 for name in names(outcome.data, kind) if match(name))
    return {what: copies - 1} if copies > 1 else {}


def deploy_expectation(outcome: Outcome) -> Expected:
    report = outcome.result.xcom("report") if outcome.result else None
    integration = (report or {}).get("integration_id")
    cloned = [flow["_id"] for flow in outcome.data.get("flows", []) if flow.get("_integrationId") == integration]
    problems = [] if len(cloned) == 2 else [f"expected 2 cloned flows, found {len(cloned)}"]
    copies = names(outcome.data, "integrations").count("Acme integration")
    if copies < 1:
        problems.append("no integration named 'Acme integration'")
    twice = copies_beyond_one(outcome, "integrations", lambda n: n == "Acme integration", "clone of the template")
    return Expected(None, dict.fromkeys(cloned, 1), problems, twice)


def resources_expectation(outcome: Outcome) -> Expected:
    created = outcome.result.xcom("create_flow") if outcome.result else None
    flow_id = (created or {}).get("_id", "?")
    problems, twice = [], {}
    for kind, what, match in (
        ("connections", "connection 'Orders API (...)'", lambda n: n.startswith("Orders API (")),
        ("exports", "export 'Get orders'", lambda n: n == "Get orders"),
        ("imports", "import 'Load orders'", lambda n: n == "Load orders"),
        ("flows", "flow 'Orders API to warehouse'", lambda n: n.startswith("Orders API to warehouse")),
    ):
        if not any(match(name) for name in names(outcome.data, kind)):
            problems.append(f"no {what} was created")
        twice.update(copies_beyond_one(outcome, kind, match, what))
    return Expected(None, {flow_id: 1}, problems, twice)


def failure_expectation(outcome: Outcome) -> Expected:
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
    return Expected(states, {DEMO_IDS["flow_invoices"]: 3, DEMO_IDS["flow_refunds"]: 2}, problems)


EXPECTATIONS: dict[str, Expectation] = {
    "example_celigo_run_flows": all_success(
        {DEMO_IDS["flow_orders"]: 1, DEMO_IDS["flow_customers"]: 1, DEMO_IDS["flow_storefront_orders"]: 1}
    ),
    "example_celigo_deferrable_and_sensor": all_success({DEMO_IDS["flow_inventory"]: 1, DEMO_IDS["flow_orders"]: 1}),
    "example_celigo_deploy_integration": deploy_expectation,
    "example_celigo_resources_as_code": resources_expectation,
    "example_celigo_fan_out": all_success(dict.fromkeys(SEGMENTS, 1)),
    "example_celigo_feed_from_warehouse": all_success({DEMO_IDS["flow_orders"]: 1}),
    "example_celigo_failure_handling": failure_expectation,
}


@dataclass
class Verdict:
    """The checks of one example, computed once."""

    problems: list[str]
    duplicates: int  # flow runs beyond those the tasks asked for
    twice: dict[str, int]  # resources created more than once
    orphans: int
    leaks: list[str]
    places: list[Place]


def judge(outcome: Outcome) -> Verdict:
    """Return the problems of one outcome, its duplicate runs and resources, its orphaned jobs and its leaks."""
    result = outcome.result
    places: list[Place] = []
    if outcome.home is not None:
        places = log_file_places(outcome.home.log_files(), outcome.dag_id)
        places += airflow_db_places(outcome.home.database, outcome.dag_id)
    leaks = scan_for_token(outcome.token, places, "faults")
    if result is None:
        return Verdict([f"the run did not happen: {outcome.error}"], 0, {}, 0, leaks, places)
    problems = [] if not result.timed_out else [f"timed out after {result.seconds:.0f}s"]
    expected = EXPECTATIONS[outcome.dag_id](outcome)
    problems += expected.problems
    if not result.tasks:
        problems.append("no task instances")
    elif expected.states is None:
        if set(result.states.values()) != {"success"}:
            problems.append(f"not every task succeeded: {result.states}")
    elif result.states != expected.states:
        problems.append(f"task states {result.states}, expected {expected.states}")
    flows = set(outcome.runs) | set(expected.runs)
    duplicates = sum(max(0, outcome.runs.get(flow, 0) - expected.runs.get(flow, 0)) for flow in flows)
    if outcome.runs != expected.runs:
        problems.append(f"flow runs {outcome.runs}, expected {expected.runs} ({duplicates} duplicate runs)")
    if outcome.read_faults_left:
        problems.append(
            f"{outcome.read_faults_left} of the {read_fault_limit(outcome.dag_id)} read faults never fired (too few "
            "reads): the figures would vary run to run; lower the example's read-fault limit"
        )
    orphans = active_jobs(outcome.jobs)
    if orphans:
        problems.append(f"jobs left active: {[(job.get('_id'), job.get('status')) for job in orphans]}")
    if leaks:
        problems.append(f"token found in {leaks}")
    return Verdict(problems, duplicates, expected.twice, len(orphans), leaks, places)


@pytest.fixture(scope="module")
def outcomes(
    tmp_path_factory: pytest.TempPathFactory, reliability_template_db: Path
) -> Iterator[dict[str, tuple[Outcome, Verdict]]]:
    """Every example run under faults, ``PARALLEL`` at a time, judged; the family's figures recorded here."""
    root = tmp_path_factory.mktemp("faults")
    with ThreadPoolExecutor(max_workers=PARALLEL, thread_name_prefix="faults") as pool:
        futures = {
            dag_id: pool.submit(run_example, index, dag_id, root, reliability_template_db)
            for index, dag_id in enumerate(EXAMPLE_IDS)
        }
        done = {dag_id: future.result() for dag_id, future in futures.items()}
    family = FIGURES["faults"]
    judged = {}
    for dag_id, outcome in done.items():
        verdict = judge(outcome)
        judged[dag_id] = (outcome, verdict)
        family.add_scenarios()
        family.add_duplicates(verdict.duplicates, sum(verdict.twice.values()))
        family.add_orphans(verdict.orphans)
        family.add_faults(outcome.counters, survived=not verdict.problems, write_counters=outcome.write_faults)
        if verdict.twice:
            family.add_note(f"{dag_id}: created twice (not failed on yet): {verdict.twice}")
    totals: Counter[str] = Counter()
    for outcome in done.values():
        totals.update(outcome.counters)
    writes = sum((outcome.write_faults for outcome in done.values()), Counter())
    runs = sum((outcome.run_faults for outcome in done.values()), Counter())
    family.add_note(f"fault mix: {FAULT_MIX}")
    faults = {kind: count for kind, count in sorted(totals.items()) if kind != "latency"}
    family.add_note(
        f"injected {faults}; write calls faulted (fixed by the plan): "
        f"{dict(sorted(writes.items()))}, of them on POST /flows/{{id}}/run: {dict(sorted(runs.items()))}"
    )
    yield judged


@pytest.mark.parametrize("dag_id", EXAMPLE_IDS)
def test_example_survives_faults(dag_id: str, outcomes: dict[str, tuple[Outcome, Verdict]]) -> None:
    outcome, verdict = outcomes[dag_id]
    if outcome.home is not None:
        assert table_rows(outcome.home.database, "xcom") > 0, "the scan must cover real XCom values"
        assert table_rows(outcome.home.database, "rendered_task_instance_fields") > 0, "and rendered fields"
        assert any("Celigo" in str(place.text) for place in verdict.places if place.kind == "log files")
    detail = outcome.result.describe() if outcome.result else outcome.error
    assert not verdict.problems, f"{dag_id} under faults {outcome.counters}: {verdict.problems}\n{detail}"
    assert verdict.duplicates == 0 and verdict.orphans == 0
    assert not verdict.leaks, f"token found in {verdict.leaks}"


def test_every_fault_kind_was_injected_and_survived(outcomes: dict[str, tuple[Outcome, Verdict]]) -> None:
    """The plan really faulted: each kind fired, every write rule fired, every example lost the answer to at
    least one POST /run, and the retries show in the task logs."""
    totals: Counter[str] = Counter()
    for outcome, _ in outcomes.values():
        totals.update(outcome.counters)
    for kind in ("error_500", "error_503", "drop", "storm_429", "error_500_after", "drop_after", "latency"):
        assert totals.get(kind, 0) > 0, f"no {kind} injected: {totals}"
    lost = {
        dag_id: sum(o.run_faults[k] for k in ("error_500_after", "drop_after")) for dag_id, (o, _) in outcomes.items()
    }
    assert all(lost.values()), f"examples whose POST /run never lost its answer: {lost}"
    for number, (method, path, _, _) in enumerate(WRITE_RULES):
        fired = [
            dag_id
            for dag_id, (outcome, _) in outcomes.items()
            if len(outcome.plan["routes"]) - len(WRITE_RULES) + number in outcome.rules_fired
        ]
        assert fired, f"the write rule {method} {path} never fired (no example made that call?)"
    retried = [d for d, (o, _) in outcomes.items() if o.home and "Celigo call failed" in o.home.all_logs_text()]
    assert len(retried) == len(outcomes), f"retries not logged for {set(outcomes) - set(retried)}"
