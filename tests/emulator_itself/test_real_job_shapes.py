"""Emulator jobs carry the fields, JSON types and statuses of real integrator.io job records."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import Api

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "real-flow-jobs.json"
CLI_FIELDS = {"duration", "flowname", "steps", "stepname"}  # added by the CLI that captured the data
STATUSES = {"queued", "running", "completed", "failed", "canceled", "canceling", "retrying"}

Group = tuple[str, str]  # (type, status)


def _json_type(value: Any) -> str:
    return type(value).__name__


def _real_groups() -> dict[Group, list[dict[str, Any]]]:
    groups: dict[Group, list[dict[str, Any]]] = defaultdict(list)
    for flow_job in json.loads(FIXTURE.read_text()):
        groups[(flow_job["type"], flow_job["status"])].append(flow_job)
        for step in flow_job.get("steps", []):
            groups[(step["type"], step["status"])].append(step)
    return groups


def _common_fields(records: list[dict[str, Any]]) -> dict[str, str]:
    """Return {field: JSON type} for fields present in every record (minus CLI-added ones)."""
    common = set.intersection(*(set(r) for r in records)) - CLI_FIELDS
    types: dict[str, str] = {}
    for name in common:
        kinds = {_json_type(r[name]) for r in records}
        assert len(kinds) == 1, (name, kinds)
        types[name] = kinds.pop()
    return types


def _emulated_groups(api: Api, admin: EmulatorAdmin) -> dict[Group, list[dict[str, Any]]]:
    admin.configure(clock_speed=50, cancel_delay_seconds=0)
    admin.set_scenario(DEMO_IDS["flow_customers"], export_seconds=1, import_seconds=500)
    completed = api.run(DEMO_IDS["flow_orders"])
    failed = api.run(DEMO_IDS["flow_refunds"])
    long_running = api.run(DEMO_IDS["flow_customers"])
    queued = api.run(DEMO_IDS["flow_customers"])
    api.wait_job(completed, {"completed"})
    api.wait_job(failed, {"failed"})
    deadline = time.monotonic() + 5
    while len(api.get(f"/jobs/{long_running}/family").json()["children"]) < 3:  # imports started
        assert time.monotonic() < deadline
        time.sleep(0.01)
    queued_doc = api.job(queued)
    api.put(f"/jobs/{long_running}/cancel")
    groups: dict[Group, list[dict[str, Any]]] = defaultdict(list)
    groups[("flow", "queued")].append(queued_doc)
    for job_id in (completed, failed, long_running):
        family = api.wait_job(job_id, {"completed", "failed", "canceled"})
        groups[(family["type"], family["status"])].append(family)
        for child in api.get(f"/jobs/{job_id}/family").json()["children"]:
            groups[(child["type"], child["status"])].append(child)
    return groups


def test_emulator_jobs_match_real_records(api: Api, admin: EmulatorAdmin) -> None:
    real = _real_groups()
    emulated = _emulated_groups(api, admin)
    compared = []
    for group, records in sorted(real.items()):
        if group not in emulated:
            continue  # e.g. ("import", "failed"): the emulator fails runs on the export step only
        expected = _common_fields(records)
        for doc in emulated[group]:
            missing = sorted(set(expected) - set(doc))
            assert not missing, f"{group} lacks {missing}"
            wrong = {k: (_json_type(doc[k]), t) for k, t in expected.items() if _json_type(doc[k]) != t}
            assert not wrong, f"{group} has other JSON types: {wrong}"
        compared.append(group)
    must_cover = {
        ("flow", "completed"),
        ("flow", "failed"),
        ("flow", "canceled"),
        ("flow", "queued"),
        ("export", "completed"),
        ("export", "failed"),
        ("import", "completed"),
        ("import", "canceled"),
    }
    assert must_cover <= set(compared), set(compared)


def test_status_vocabulary(api: Api, admin: EmulatorAdmin) -> None:
    real = _real_groups()
    assert {status for _, status in real} <= STATUSES
    emulated = _emulated_groups(api, admin)
    assert {status for _, status in emulated} <= STATUSES
    assert {kind for kind, _ in emulated} == {kind for kind, _ in real}


def test_field_types_agree_wherever_both_have_a_field(api: Api, admin: EmulatorAdmin) -> None:
    real = _real_groups()
    types: dict[str, set[str]] = defaultdict(set)
    for records in real.values():
        for record in records:
            for name, value in record.items():
                types[name].add(_json_type(value))
    for docs in _emulated_groups(api, admin).values():
        for doc in docs:
            for name, value in doc.items():
                if name in types:
                    assert _json_type(value) in types[name], (name, value)


# -- the rules the real records obey, measured the same way on real and emulated jobs ------------------

COUNTERS = ("numSuccess", "numError", "numIgnore", "numResolved", "numOpenError")
FIVE_SOURCES = "64aad18c8a849e7db1c11e40"  # "NetSuite JDBC [1] -> Snowflake": five page generators, one import
SHARE_TOLERANCE = 0.25  # an emulated share may differ this much from the real one (and stays on its side of 1/2)


def _seconds(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _share(hits: list[bool]) -> float:
    assert hits, "no job to measure"
    return sum(hits) / len(hits)


def _kids(job: dict[str, Any]) -> list[dict[str, Any]]:
    kids: list[dict[str, Any]] = job.get("steps", job.get("children", []))
    return kids


def _rule_rates(flow_jobs: list[dict[str, Any]]) -> dict[str, float]:
    """Return the share of flow jobs obeying each rule of the real job model."""
    completed = [j for j in flow_jobs if j["status"] == "completed"]
    sums = [all(j[k] == sum(c[k] for c in _kids(j)) for k in COUNTERS) for j in completed]
    streaming = []
    for job in flow_jobs:
        sources = [c for c in _kids(job) if c["type"] == "export" and "endedAt" in c]
        imports = [c for c in _kids(job) if c["type"] == "import" and "startedAt" in c]
        if sources and imports:
            first_source = min(sources, key=lambda c: c["oIndex"])
            streaming.append(min(_seconds(c["startedAt"]) for c in imports) < _seconds(first_source["endedAt"]))
    ended = [j for j in flow_jobs if "endedAt" in j and "lastExecutedAt" in j]
    late = [_seconds(j["lastExecutedAt"]) > _seconds(j["endedAt"]) for j in ended]
    started = [j for j in flow_jobs if "startedAt" in j]
    lagged = [_seconds(j["startedAt"]) > _seconds(j["createdAt"]) for j in started]
    return {
        "counter sums": _share(sums),
        "imports before export end": _share(streaming),
        "lastExecutedAt after endedAt": _share(late),
        "startedAt after createdAt": _share(lagged),
        "one flow job per source per run": _share(_one_job_per_source(flow_jobs)),
    }


def _one_job_per_source(flow_jobs: list[dict[str, Any]]) -> list[bool]:
    """Return, per run of a multi-source flow, whether each source has exactly one flow job in it.

    Runs are told apart as in the records, without run ids: the jobs of one flow in creation order,
    a new run starting whenever the export child's ``oIndex`` (the source's place) does not increase.
    """
    by_flow: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for job in flow_jobs:
        by_flow[job["_flowId"]].append(job)
    verdicts = []
    for jobs in by_flow.values():
        if len({j.get("_exportId") for j in jobs}) < 2:
            continue
        runs: list[list[dict[str, Any]]] = []
        last_index = None
        for job in sorted(jobs, key=lambda j: j["createdAt"]):
            index = min((c["oIndex"] for c in _kids(job) if c["type"] == "export"), default=0)
            if last_index is None or index <= last_index:
                runs.append([])
            runs[-1].append(job)
            last_index = index
        for run in runs:
            exports = [j["_exportId"] for j in run]
            verdicts.append(len(exports) == len(set(exports)))
    return verdicts


def _emulated_sample(api: Api, admin: EmulatorAdmin) -> list[dict[str, Any]]:
    """Run seeded single- and multi-source flows 38 times (record errors, a failure, two cancels)."""
    admin.configure(clock_speed=200, cancel_delay_seconds=0)
    admin.set_scenario(DEMO_IDS["flow_inventory"], export_seconds=3, import_seconds=4, records=300)
    plan = {
        DEMO_IDS["flow_storefront_orders"]: 8,
        DEMO_IDS["flow_orders"]: 5,
        DEMO_IDS["flow_customers"]: 4,
        DEMO_IDS["flow_invoices"]: 5,
        DEMO_IDS["flow_inventory"]: 3,
        DEMO_IDS["flow_refunds"]: 2,
        DEMO_IDS["flow_segment_vip"]: 4,
        DEMO_IDS["flow_segment_lapsed"]: 4,
        DEMO_IDS["flow_nightly_products"]: 3,
    }
    # canceled at once: the first inventory run (just begun) and the third products run (queued behind two)
    cancel = {(DEMO_IDS["flow_inventory"], 0), (DEMO_IDS["flow_nightly_products"], 2)}
    started = 0
    for flow_id, count in plan.items():
        for index in range(count):
            job_id = api.run(flow_id)
            started += 1
            if (flow_id, index) in cancel:
                assert api.put(f"/jobs/{job_id}/cancel").json()["status"] == "canceled"
    assert started == 38
    deadline = time.monotonic() + 20
    while True:
        flow_jobs = [j for j in admin.jobs() if j["type"] == "flow"]
        if all(j["status"] in ("completed", "failed", "canceled") for j in flow_jobs) and len(flow_jobs) == 56:
            return flow_jobs
        assert time.monotonic() < deadline, (len(flow_jobs), sorted({j["status"] for j in flow_jobs}))
        time.sleep(0.05)


def test_emulated_jobs_obey_the_rules_of_the_real_records(api: Api, admin: EmulatorAdmin) -> None:
    real = _rule_rates([j for j in json.loads(FIXTURE.read_text()) if j["type"] == "flow"])
    # what the 161 real flow jobs say (the fidelity audit's figures)
    assert real["counter sums"] == 1.0 and real["one flow job per source per run"] == 1.0
    assert real["imports before export end"] == pytest.approx(123 / 150)
    assert real["lastExecutedAt after endedAt"] == pytest.approx(142 / 160)
    assert real["startedAt after createdAt"] > 0.8
    flow_jobs = _emulated_sample(api, admin)
    # 8 runs x 3 sources + 30 single-source runs + the 2 prices runs chained by the uncanceled products runs
    assert len({j["runId"] for j in flow_jobs}) == 38 + 2
    emulated = _rule_rates(flow_jobs)
    assert emulated["counter sums"] == 1.0
    assert emulated["one flow job per source per run"] == 1.0
    for rule in ("imports before export end", "lastExecutedAt after endedAt", "startedAt after createdAt"):
        assert abs(emulated[rule] - real[rule]) <= SHARE_TOLERANCE, (rule, emulated[rule], real[rule])
        assert (emulated[rule] > 0.5) == (real[rule] > 0.5), rule
    storefront_runs = [j for j in flow_jobs if j["_flowId"] == DEMO_IDS["flow_storefront_orders"]]
    assert len(storefront_runs) == 8 * 3  # three sources: three flow jobs per run


def test_the_five_source_flow_of_the_records_runs_the_same_way(api: Api, admin: EmulatorAdmin) -> None:
    """Rebuild the real 5-source flow (its own ids) and compare the run's jobs with the real ones."""
    real = sorted(
        (j for j in json.loads(FIXTURE.read_text()) if j["_flowId"] == FIVE_SOURCES), key=lambda j: j["createdAt"]
    )
    sources = [j["_exportId"] for j in real]
    (target,) = {c["_importId"] for j in real for c in j["steps"] if c["type"] == "import"}
    flow = {
        "_id": FIVE_SOURCES,
        "name": real[0]["flowname"],
        "_integrationId": real[0]["_integrationId"],
        "pageGenerators": [{"_exportId": e} for e in sources],
        "pageProcessors": [{"type": "import", "_importId": target}],
    }
    admin.configure(clock_speed=100, validate_refs=False)
    admin.seed({"flows": [flow], "scenarios": {FIVE_SOURCES: {"export_seconds": 3, "import_seconds": 2}}})
    first = api.run(FIVE_SOURCES)
    deadline = time.monotonic() + 10
    while True:
        jobs = api.get(f"/flows/{FIVE_SOURCES}/jobs/latest").json()
        if len(jobs) == 5 and all(j["status"] == "completed" for j in jobs):
            break
        assert time.monotonic() < deadline, [j["status"] for j in jobs]
        time.sleep(0.02)
    assert jobs[0]["_id"] == first and [j["_exportId"] for j in jobs] == sources
    families = [api.get(f"/jobs/{j['_id']}/family").json()["children"] for j in jobs]
    shape = [[(c["type"], c["oIndex"]) for c in children] for children in families]
    assert shape == [[(c["type"], c["oIndex"]) for c in j["steps"]] for j in real]  # exports 0..4, the import 5
    # each job is created as the previous source's export ends (in its last fifth), and the jobs overlap
    for index in range(1, 5):
        for record, children in ((real, [j["steps"] for j in real]), (jobs, families)):
            created = _seconds(record[index]["createdAt"])
            begin, end = (_seconds(children[index - 1][0][key]) for key in ("startedAt", "endedAt"))
            assert begin + 0.8 * (end - begin) <= created <= end + 1
            assert created < _seconds(record[index - 1]["endedAt"])
