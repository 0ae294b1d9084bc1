"""One run of a flow with several sources is one flow job per source, shaped as in the real records."""

from __future__ import annotations

import time
from typing import Any

from conftest import Api, assert_error
from job_model import job_model_defaults, seconds  # noqa: F401 - an autouse fixture

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

STOREFRONTS = DEMO_IDS["flow_storefront_orders"]
SOURCES = [DEMO_IDS["export_storefront_us"], DEMO_IDS["export_storefront_eu"], DEMO_IDS["export_storefront_b2b"]]
IMPORTS = [DEMO_IDS["import_storefront_orders"], DEMO_IDS["import_storefront_warehouse"]]
TERMINAL = {"completed", "failed", "canceled"}
COUNTERS = ("numSuccess", "numError", "numIgnore", "numResolved", "numOpenError")


def _latest(api: Api, flow_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/flows/{flow_id}/jobs/latest")
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()
    return jobs


def _wait_latest(api: Api, flow_id: str, count: int, statuses: set[str], timeout: float = 10.0) -> list[dict]:
    """Wait until the latest run has ``count`` flow jobs, all in ``statuses``; return them."""
    deadline = time.monotonic() + timeout
    while True:
        jobs = _latest(api, flow_id)
        if len(jobs) == count and all(j["status"] in statuses for j in jobs):
            return jobs
        assert time.monotonic() < deadline, [(j["_exportId"], j["status"]) for j in jobs]
        time.sleep(0.02)


def _children(api: Api, job_id: str) -> list[dict[str, Any]]:
    children: list[dict[str, Any]] = api.get(f"/jobs/{job_id}/family").json()["children"]
    return children


def test_three_sources_make_three_overlapping_flow_jobs(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(clock_speed=50)
    started = api.run(STOREFRONTS)
    first = _latest(api, STOREFRONTS)
    assert [j["_id"] for j in first] == [started]  # sequential: only the first source's job so far
    jobs = _wait_latest(api, STOREFRONTS, 3, {"completed"})
    assert jobs[0]["_id"] == started
    assert [j["_exportId"] for j in jobs] == SOURCES
    for job in jobs:
        assert job["type"] == "flow" and job["_flowId"] == STOREFRONTS
        assert job["_integrationId"] == DEMO_IDS["integration_storefronts"]
    families = [_children(api, j["_id"]) for j in jobs]
    for index, children in enumerate(families):
        assert [(c["type"], c["oIndex"]) for c in children] == [("export", index), ("import", 3), ("import", 4)]
        assert children[0]["_exportId"] == SOURCES[index]
        assert [c["_importId"] for c in children[1:]] == IMPORTS
    for index in (1, 2):  # the next source's job is created when the previous source's export ends ...
        previous_export = families[index - 1][0]
        assert jobs[index]["createdAt"] == previous_export["endedAt"]
        assert seconds(jobs[index]["createdAt"]) < seconds(jobs[index - 1]["endedAt"])  # ... so the jobs overlap
    listed = api.get("/jobs", params={"_flowId": STOREFRONTS, "type": "flow", "createdAt_gte": jobs[0]["createdAt"]})
    assert sorted(j["_id"] for j in listed.json()) == sorted(j["_id"] for j in jobs)
    assert admin.runs() == {STOREFRONTS: 1}


def test_counters_sum_the_children_and_imports_stream_pages(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(clock_speed=50)
    api.run(STOREFRONTS)
    jobs = _wait_latest(api, STOREFRONTS, 3, {"completed"})
    for job in jobs:
        children = _children(api, job["_id"])
        for name in COUNTERS:
            assert job[name] == sum(c[name] for c in children), name
        assert (job["numSuccess"], job["numError"]) == (30 + 29 + 30, 1)  # export read 30, one import lost 1
        export = children[0]
        assert all(seconds(c["startedAt"]) < seconds(export["endedAt"]) for c in children[1:])
        assert seconds(job["lastExecutedAt"]) > seconds(job["endedAt"])
        assert seconds(job["startedAt"]) > seconds(job["createdAt"])  # the queue lag


def test_parallel_sources_start_together(api: Api, admin: EmulatorAdmin) -> None:
    flow_id = "6650f00000000000000000b1"
    admin.seed(
        {
            "flows": [
                {
                    "_id": flow_id,
                    "name": "Parallel storefronts",
                    "_integrationId": DEMO_IDS["integration_storefronts"],
                    "runPageGeneratorsInParallel": True,
                    "pageGenerators": [{"_exportId": e} for e in SOURCES],
                    "pageProcessors": [{"type": "import", "_importId": IMPORTS[0]}],
                }
            ]
        }
    )
    job_id = api.run(flow_id)
    jobs = _latest(api, flow_id)
    assert len(jobs) == 3 and jobs[0]["_id"] == job_id
    assert len({j["createdAt"] for j in jobs}) == 1
    done = _wait_latest(api, flow_id, 3, {"completed"})
    assert [[(c["type"], c["oIndex"]) for c in _children(api, j["_id"])] for j in done] == [
        [("export", i), ("import", 3)] for i in range(3)
    ]


def test_runs_of_the_same_flow_and_source_never_overlap(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(clock_speed=100)
    api.run(STOREFRONTS)
    first_run = _wait_latest(api, STOREFRONTS, 1, {"running", "queued"})
    api.run(STOREFRONTS)
    second_run = _wait_latest(api, STOREFRONTS, 3, {"completed"})
    assert first_run[0]["_id"] not in {j["_id"] for j in second_run}  # latest = the second run
    every = api.get("/jobs", params={"_flowId": STOREFRONTS, "type": "flow"}).json()
    assert len(every) == 6
    for source in SOURCES:
        pair = sorted((j for j in every if j["_exportId"] == source), key=lambda j: j["createdAt"])
        assert len(pair) == 2
        assert seconds(pair[1]["startedAt"]) >= seconds(pair[0]["endedAt"])
    assert admin.runs() == {STOREFRONTS: 2}


def test_cancel_stops_the_run_and_cascades_to_children(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(cancel_delay_seconds=0)
    admin.set_scenario(STOREFRONTS, export_seconds=20, import_seconds=20)  # 2 s real per step at speed 20
    job_id = api.run(STOREFRONTS)
    deadline = time.monotonic() + 5
    while len(_children(api, job_id)) < 3:  # the imports start with the first page (20 / (2 pages + 1) s)
        assert time.monotonic() < deadline
        time.sleep(0.02)
    canceled = api.put(f"/jobs/{job_id}/cancel").json()
    user = api.get("/tokenInfo").json()["_userId"]
    assert canceled["status"] == "canceled" and canceled["canceledBy"] == user
    children = _children(api, job_id)
    assert children and all(c["status"] == "canceled" and c["canceledBy"] == "system" for c in children)
    admin.configure(clock_speed=1000)  # far past when the next source's job would have been created
    time.sleep(0.1)
    assert [j["_id"] for j in _latest(api, STOREFRONTS)] == [job_id]


def test_cancel_every_job_of_a_run(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(cancel_delay_seconds=0, clock_speed=50)
    admin.set_scenario(STOREFRONTS, export_seconds=2, import_seconds=200)
    api.run(STOREFRONTS)
    jobs = _wait_latest(api, STOREFRONTS, 2, {"running"})
    for job in jobs:
        assert api.put(f"/jobs/{job['_id']}/cancel").json()["status"] == "canceled"
    admin.configure(clock_speed=1000)
    time.sleep(0.05)
    after = _latest(api, STOREFRONTS)
    assert [j["status"] for j in after] == ["canceled", "canceled"]


def test_export_ids_select_sources_or_are_only_recorded(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(clock_speed=50)
    chosen = {"_exportIds": [SOURCES[2], SOURCES[1]]}
    job_id = api.run(STOREFRONTS, chosen)
    jobs = _wait_latest(api, STOREFRONTS, 2, {"completed"})
    assert jobs[0]["_id"] == job_id and [j["_exportId"] for j in jobs] == [SOURCES[1], SOURCES[2]]
    assert [_children(api, j["_id"])[0]["oIndex"] for j in jobs] == [1, 2]  # the source's place in the flow

    admin.configure(honour_export_ids=False)
    api.run(STOREFRONTS, chosen)
    assert [j["_exportId"] for j in _wait_latest(api, STOREFRONTS, 3, {"completed"})] == SOURCES
    assert [j["runBody"] for j in admin.jobs() if j["type"] == "flow"] == [chosen] * 5
    assert_error(api.post(f"/flows/{STOREFRONTS}/run", json={"_exportIds": [DEMO_IDS["export_orders"]]}), 422)


def test_running_a_disabled_flow_is_refused_only_when_configured(api: Api, admin: EmulatorAdmin) -> None:
    legacy = DEMO_IDS["flow_legacy_ftp"]
    assert_error(api.post(f"/flows/{legacy}/run"), 422, "flow_disabled")
    admin.configure(refuse_disabled_runs=False)
    assert api.wait_job(api.run(legacy), {"completed"})["status"] == "completed"


def test_single_source_flows_keep_one_job_per_run(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(clock_speed=100)
    job_id = api.run(DEMO_IDS["flow_customers"])
    api.wait_job(job_id, {"completed"})
    assert [j["_id"] for j in _latest(api, DEMO_IDS["flow_customers"])] == [job_id]
    children = _children(api, job_id)
    assert [(c["type"], c["oIndex"]) for c in children] == [("export", 0), ("import", 1), ("import", 2)]
