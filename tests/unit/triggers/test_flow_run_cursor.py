"""RunCursor: one event per run (multi-source runs grouped), none for runs that ended before watching."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_celigo.exceptions import CeligoConfigError
from airflow_provider_celigo.triggers.events import CeligoFlowRunEventTrigger, RunCursor, run_payload

FLOW = "6650f0000000000000000001"
SOURCES = ["6650e0000000000000000001", "6650e0000000000000000002"]
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def at(seconds: float) -> str:
    moment = T0 + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def job(n: int, source: int, created: float, ended: float | None, status: str = "completed") -> dict[str, Any]:
    doc = {
        "_id": f"{n:024x}",
        "_flowId": FLOW,
        "type": "flow",
        "_exportId": SOURCES[source],
        "status": status if ended is not None else "running",
        "createdAt": at(created),
        "startedAt": at(created),
        "numSuccess": 10,
        "numError": 0,
    }
    if ended is not None:
        doc["endedAt"] = at(ended)
    return doc


FLOW_DOC = {"_id": FLOW, "pageGenerators": [{"_exportId": source} for source in SOURCES]}


def baselined() -> RunCursor:
    cursor = RunCursor()
    assert cursor.ended_runs(FLOW_DOC, FLOW, []) == []  # the first look: the flow never ran
    return cursor


def test_a_two_source_run_fires_once_when_both_jobs_ended() -> None:
    cursor = baselined()
    first = job(1, 0, 1, 5)
    assert cursor.ended_runs(FLOW_DOC, FLOW, [first, job(2, 1, 4, None)]) == []
    (run,) = cursor.ended_runs(FLOW_DOC, FLOW, [first, job(2, 1, 4, 9)])
    payload = run_payload(run)
    assert payload["job_ids"] == [f"{1:024x}", f"{2:024x}"]
    assert (payload["status"], payload["num_success"]) == ("completed", 20)
    cursor.mark_handled(run)
    assert cursor.ended_runs(FLOW_DOC, FLOW, [first, job(2, 1, 4, 9)]) == []


def test_runs_ended_at_the_first_look_are_passed_over_and_the_cursor_survives_a_restart() -> None:
    cursor = RunCursor()
    old = [job(1, 0, 1, 5), job(2, 1, 4, 9)]
    running = [job(3, 0, 110, None)]
    assert cursor.ended_runs(FLOW_DOC, FLOW, old + running) == []  # baseline: the old run is passed over
    new = [job(3, 0, 110, 115), job(4, 1, 114, 120)]
    (run,) = cursor.ended_runs(FLOW_DOC, FLOW, old + new)  # the run going at the first look is reported
    cursor.mark_handled(run)
    restarted = RunCursor.load(cursor.dump())
    assert restarted.ended_runs(FLOW_DOC, FLOW, old + new) == []
    later = [job(5, 0, 200, 205), job(6, 1, 204, 210, status="failed")]
    (failed,) = restarted.ended_runs(FLOW_DOC, FLOW, old + new + later)  # ended while no watcher ran
    assert run_payload(failed)["status"] == "failed"


def test_a_run_missing_a_source_ends_after_quiet_polls() -> None:
    cursor = baselined()
    alone = [job(1, 0, 1, 5, status="failed")]
    results = [cursor.ended_runs(FLOW_DOC, FLOW, alone) for _ in range(3)]
    assert [len(result) for result in results] == [0, 0, 1]


def test_an_unhandled_run_stays_inside_the_stored_horizon() -> None:
    cursor = baselined()
    (run,) = cursor.ended_runs(FLOW_DOC, FLOW, [job(1, 0, 1, 5), job(2, 1, 4, 9)])
    assert cursor.dump()["horizon"] == at(1)
    cursor.mark_handled(run)
    assert cursor.dump()["horizon"] == at(4)  # the newest job seen: later runs are created after it


def test_trigger_arguments_are_checked_and_serialised_deterministically() -> None:
    trigger = CeligoFlowRunEventTrigger(flow_id=FLOW.upper(), statuses=("completed", "failed"))
    assert trigger.serialize() == (
        "airflow_provider_celigo.triggers.events.CeligoFlowRunEventTrigger",
        {
            "flow_id": FLOW,
            "celigo_conn_id": "celigo_default",
            "poll_interval": 60.0,
            "statuses": ["completed", "failed"],
        },
    )
    with pytest.raises(CeligoConfigError, match="not ends"):
        CeligoFlowRunEventTrigger(flow_id=FLOW, statuses=("running",))
    with pytest.raises(CeligoConfigError, match="seconds > 0"):
        CeligoFlowRunEventTrigger(flow_id=FLOW, poll_interval=0)


def test_a_flow_that_never_ran_is_bounded_by_the_listing_time() -> None:
    cursor = baselined()
    assert cursor.dump()["horizon"] is None
    assert cursor.ended_runs(FLOW_DOC, FLOW, [], listed_up_to=T0) == []
    assert cursor.dump()["horizon"] == at(0)
