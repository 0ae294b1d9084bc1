"""Every real job record from integrator.io (August 2023) is classified and summarised correctly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_celigo.jobs.status import Outcome, describe, is_terminal, outcome, summarize

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "real-flow-jobs.json"
CLI_ADDED_FIELDS = {"duration", "flowname", "steps", "stepname"}


def _records() -> list[dict[str, Any]]:
    flows = json.loads(FIXTURE.read_text())
    steps = [step for flow in flows for step in flow.get("steps", [])]
    return [{k: v for k, v in job.items() if k not in CLI_ADDED_FIELDS} for job in flows + steps]


def _expected(job: dict[str, Any]) -> Outcome:
    """The classification, written independently of the code under test."""
    return {
        "queued": Outcome.ACTIVE,
        "running": Outcome.ACTIVE,
        "failed": Outcome.FAILED,
        "canceled": Outcome.CANCELED,
    }.get(job["status"], Outcome.SUCCESS_WITH_ERRORS if job.get("numError", 0) else Outcome.SUCCESS)


def test_every_real_record_is_classified_like_the_api_says() -> None:
    records = _records()
    assert len(records) == 161 + 455
    seen: dict[Outcome, int] = {}
    for job in records:
        assert outcome(job) is _expected(job), job["_id"]
        assert is_terminal(job) is (job["status"] != "queued")
        seen[outcome(job)] = seen.get(outcome(job), 0) + 1
    # The fixture holds every outcome, so a classifier that collapses two of them would fail above.
    assert set(seen) == set(Outcome)


def test_summaries_carry_ids_counts_and_durations() -> None:
    for job in _records():
        summary = summarize(job)
        assert summary["job_id"] == job["_id"]
        assert summary["status"] == job["status"]
        assert summary["num_success"] == job.get("numSuccess", 0)
        assert summary["num_error"] == job.get("numError", 0)
        assert summary["num_pages"] == job.get("numPagesGenerated", 0)
        if job.get("startedAt") and job.get("endedAt"):
            assert summary["duration_seconds"] is not None and summary["duration_seconds"] >= 0
        else:
            assert summary["duration_seconds"] is None
        json.dumps(summary)  # XCom-friendly
        assert job["_id"] in describe(summary)


def test_a_completed_job_with_errors_is_not_plain_success() -> None:
    completed_with_errors = [j for j in _records() if j["status"] == "completed" and j.get("numError", 0) > 0]
    assert completed_with_errors, "the fixture is known to hold completed jobs with numError > 0"
    assert {outcome(j) for j in completed_with_errors} == {Outcome.SUCCESS_WITH_ERRORS}


def test_the_real_flow_durations_match_the_clis_own_figures() -> None:
    flows = json.loads(FIXTURE.read_text())
    for flow in flows:
        if not (flow.get("startedAt") and flow.get("endedAt") and flow.get("duration")):
            continue
        hours, minutes, seconds = flow["duration"].split(":")
        cli_seconds = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        assert summarize(flow)["duration_seconds"] == pytest.approx(cli_seconds, abs=0.002)
